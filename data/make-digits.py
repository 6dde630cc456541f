#!/usr/bin/python3
"""Regenerates data/digits.bin.gz from scikit-learn's copy of the UCI digits.

    apt-get install -y python3-sklearn     # Debian's scikit-learn (1.2.1 here)
    /usr/bin/python3 data/make-digits.py

Format (see data/README.md): gzip of 1797 * 64 pixel bytes (image by image,
each 8x8 row by row, values 0..16) followed by 1797 label bytes (0..9). The
gzip header carries no name and no time, so the output is byte-for-byte
reproducible from the same input.
"""
import gzip
import hashlib
import os
import sys

from sklearn.datasets import load_digits

digits = load_digits()
images, labels = digits.data, digits.target
assert images.shape == (1797, 64) and labels.shape == (1797,)
assert images.min() == 0 and images.max() == 16 and (images == images.round()).all()
assert set(labels.tolist()) == set(range(10))

raw = bytes(images.astype('uint8').ravel()) + bytes(labels.astype('uint8'))
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'digits.bin.gz')
with open(out, 'wb') as f:
    # filename='' and mtime=0: no name or timestamp in the header.
    with gzip.GzipFile(filename='', mode='wb', fileobj=f, compresslevel=9, mtime=0) as gz:
        gz.write(raw)

import sklearn
print(f'{out}: {len(raw)} bytes raw, {os.path.getsize(out)} gzipped, '
      f'sha256 of the raw bytes {hashlib.sha256(raw).hexdigest()} (scikit-learn {sklearn.__version__})',
      file=sys.stderr)
