#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary tarball, checks its MD5 and unpacks it
# into data/cifar-10-batches-bin (where accsim looks by default). Needs internet.
set -euo pipefail
cd "$(dirname "$0")/.."
url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
md5="c32a1d4ab5d03f1284b67883e8d87530"
dest="data"
tarball="$dest/cifar-10-binary.tar.gz"

if [ -f "$dest/cifar-10-batches-bin/test_batch.bin" ]; then
  echo "CIFAR-10 is already in $dest/cifar-10-batches-bin"
  exit 0
fi
mkdir -p "$dest"
if command -v curl >/dev/null; then
  curl -fL --retry 3 -o "$tarball.part" "$url"
else
  wget -O "$tarball.part" "$url"
fi
actual=$(md5sum "$tarball.part" | cut -d' ' -f1)
if [ "$actual" != "$md5" ]; then
  echo "fetch_cifar10: $url has MD5 $actual, expected $md5; not unpacking" >&2
  rm -f "$tarball.part"
  exit 1
fi
mv "$tarball.part" "$tarball"
tar -xzf "$tarball" -C "$dest"
rm -f "$tarball"
echo "CIFAR-10 unpacked into $dest/cifar-10-batches-bin"
