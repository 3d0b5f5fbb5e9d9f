/* threshold.c - lstmae_calibrate's rules (see threshold.h). */
#include "threshold.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "status.h"

int threshold_check(lstmae_threshold_rule rule, double param, char *why, size_t size)
{
    switch (rule) {
    case LSTMAE_THRESHOLD_QUANTILE:
        if (!(param > 0.0 && param <= 1.0))
            return status_reject(why, size, "quantile q %.17g is outside (0, 1]", param);
        break;
    case LSTMAE_THRESHOLD_MEAN_STD:
        if (!(param >= 0.0) || !isfinite(param))
            return status_reject(why, size, "mean_std k %.17g is negative or not finite", param);
        break;
    case LSTMAE_THRESHOLD_MAX:
        if (!(param >= 1.0) || !isfinite(param))
            return status_reject(why, size, "max factor f %.17g is below 1 or not finite", param);
        break;
    default:
        return status_reject(why, size,
                             "threshold rule %d is not LSTMAE_THRESHOLD_QUANTILE (0), "
                             "LSTMAE_THRESHOLD_MEAN_STD (1) or LSTMAE_THRESHOLD_MAX (2)",
                             (int)rule);
    }
    if (why && size > 0) why[0] = '\0';
    return LSTMAE_OK;
}

static int float_cmp(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

double threshold_compute(lstmae_threshold_rule rule, double param, float *scores, size_t n)
{
    if (rule == LSTMAE_THRESHOLD_QUANTILE) {
        qsort(scores, n, sizeof *scores, float_cmp);
        /* the ceil(q n)-th smallest, 1-based; q n within the rounding of
           the product q n (a few ulps) of a whole number counts as that
           number (0.07 * 100 is 7.000000000000001 in double) */
        double qn = param * (double)n;
        double r = nearbyint(qn);
        size_t k = fabs(qn - r) <= 4.0 * DBL_EPSILON * qn ? (size_t)r : (size_t)ceil(qn);
        if (k < 1) k = 1;
        if (k > n) k = n;
        return scores[k - 1];
    }
    if (rule == LSTMAE_THRESHOLD_MEAN_STD) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) sum += scores[i];
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) sq += (scores[i] - mean) * (scores[i] - mean);
        return mean + param * sqrt(sq / (double)n);
    }
    float most = scores[0];
    for (size_t i = 1; i < n; i++)
        if (scores[i] > most) most = scores[i];
    return param * (double)most;
}
