#!/usr/bin/env bash
# Install one keyless release for this machine, as keyless's GitHub Action does: pick the archive
# for the OS and architecture (RUNNER_OS/RUNNER_ARCH, else uname), download it and its `.sha256`,
# refuse on a checksum mismatch, unpack the binary into a per-version cache, and print the
# directory (also written to $GITHUB_OUTPUT as `path` and to $GITHUB_PATH under Actions).
#
#   KEYLESS_VERSION       X.Y.Z (required)
#   KEYLESS_RELEASES_URL  base of the downloads (default: the home repository's GitHub releases)
#   KEYLESS_CACHE_DIR     cache root (default: $RUNNER_TOOL_CACHE/keyless, else ~/.cache/keyless)
set -euo pipefail

home="keyless-dev/keyless"
version="${KEYLESS_VERSION:?set KEYLESS_VERSION (X.Y.Z)}"
version="${version#v}"
base="${KEYLESS_RELEASES_URL:-}"
[[ -n "$base" ]] || base="https://github.com/$home/releases/download"
base="${base%/}"

fail() {
  echo "keyless install: $*" >&2
  [[ -n "${GITHUB_ACTIONS:-}" ]] && echo "::error title=keyless install::$*"
  exit 1
}

os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
  Windows/X64 | MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) target=x86_64-pc-windows-msvc ;;
  *) fail "no keyless release for $os/$arch" ;;
esac
if [[ "$target" == *windows* ]]; then
  archive="keyless-$target.zip"
  exe="keyless.exe"
else
  archive="keyless-$target.tar.xz"
  exe="keyless"
fi

root="${KEYLESS_CACHE_DIR:-${RUNNER_TOOL_CACHE:+$RUNNER_TOOL_CACHE/keyless}}"
root="${root:-$HOME/.cache/keyless}"
dir="$root/$version/$target"

if [[ -x "$dir/$exe" ]]; then
  echo "keyless $version ($target) from the cache: $dir" >&2
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  url="$base/v$version/$archive"
  curl --proto '=https,http' -fsSL --retry 2 -o "$tmp/$archive" "$url" \
    || fail "keyless $version has no $archive at $base/v$version (is $version a released version?)"
  curl --proto '=https,http' -fsSL --retry 2 -o "$tmp/$archive.sha256" "$url.sha256" \
    || fail "the release has no checksum file $archive.sha256; refusing to install unverified"
  expected="$(awk '{print $1; exit}' "$tmp/$archive.sha256")"
  if command -v sha256sum >/dev/null 2>&1; then
    actual="$(sha256sum "$tmp/$archive" | awk '{print $1}')"
  else
    actual="$(shasum -a 256 "$tmp/$archive" | awk '{print $1}')"
  fi
  [[ -n "$expected" && "$expected" == "$actual" ]] \
    || fail "checksum mismatch for $archive: the release says ${expected:-nothing}, the download is $actual; refusing to install"
  mkdir -p "$tmp/unpacked"
  if [[ "$archive" == *.zip ]]; then
    unzip -q "$tmp/$archive" -d "$tmp/unpacked"
  else
    tar -xJf "$tmp/$archive" -C "$tmp/unpacked"
  fi
  bin="$(find "$tmp/unpacked" -type f -name "$exe" | head -n 1)"
  [[ -n "$bin" ]] || fail "$archive holds no $exe"
  mkdir -p "$dir"
  install -m 0755 "$bin" "$dir/$exe"
  echo "keyless $version ($target) installed, SHA-256 verified: $dir" >&2
fi

[[ -n "${GITHUB_OUTPUT:-}" ]] && echo "path=$dir" >> "$GITHUB_OUTPUT"
[[ -n "${GITHUB_PATH:-}" ]] && echo "$dir" >> "$GITHUB_PATH"
echo "$dir"
