"""Installs the lstmae Python package (pure Python over ctypes: no compiler
needed). No pyproject.toml on purpose: pip then builds with the setuptools
already installed (Debian's python3-setuptools, visible in a venv made
with --system-site-packages) instead of downloading one, so that

    python3 -m pip install ./python

works offline. The C library is found at run time: $LSTMAE_LIBRARY, a
liblstmae.so copied beside the package (cmake -DLSTMAE_PYTHON=ON
installs one there), or the system's search path. See docs/python.md."""

from setuptools import setup

setup(
    name="lstmae",
    version="0.2.0.dev0",
    description="LSTM/GRU sequence autoencoders over lstmae's C library",
    packages=["lstmae"],
    package_data={"lstmae": ["liblstmae.so*"]},
    python_requires=">=3.9",
    install_requires=["numpy"],
    license="MIT",
)
