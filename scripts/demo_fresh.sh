#!/usr/bin/env bash
# Proves the README's set-up on a machine without ../shared: clones this
# repository into an empty folder (nothing beside it), serves the CIFAR-10
# archive from a loopback HTTP server standing in for the internet (the
# registry entry's URL, size and checksum overridden through
# AMC_FETCH_REGISTRY, since the only archive here is ../shared's lossless
# rebuild, not the official file), and runs `make demo` there: amc fetches
# the archive, verifies it, and runs the demo with the repository's own
# checkpoint. Prints the log's key lines; exits non-zero if any step fails.
#   bash scripts/demo_fresh.sh [ARCHIVE]
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${1:-../shared/data/cifar10/cifar-10-binary.tar.gz}
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")
tmp=$(mktemp -d)
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
git clone -q . "$tmp/main"
[ ! -e "$tmp/shared" ] || { echo "unexpected $tmp/shared"; exit 1; }
mkdir -p "$tmp/mirror"
ln -s "$archive" "$tmp/mirror/cifar-10-binary.tar.gz"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/mirror" > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$port/" || { echo "the loopback server did not start:"; cat "$tmp/server.log"; exit 1; }
cat > "$tmp/registry.json" <<EOF
[{"name": "cifar10", "doc": "CIFAR-10 from a loopback mirror (scripts/demo_fresh.sh)",
  "url": "http://127.0.0.1:$port/cifar-10-binary.tar.gz", "path": "cifar10/cifar-10-binary.tar.gz",
  "size": $(stat -c %s "$archive"), "sha256": "$(sha256sum "$archive" | cut -d' ' -f1)",
  "checksum_source": "the served file's own SHA-256 (a test mirror)"}]
EOF
echo "== fresh clone at $tmp/main (commit $(git -C "$tmp/main" rev-parse --short HEAD)), no ../shared; mirror on 127.0.0.1:$port"
cd "$tmp/main"
start=$(date +%s)
env -u AMC_DATA AMC_FETCH_REGISTRY="$tmp/registry.json" AMC_CACHE="$tmp/cache" make demo > "$tmp/demo.log" 2>&1 || { tail -40 "$tmp/demo.log"; exit 1; }
echo "== make demo: rc 0 in $(( $(date +%s) - start )) s"
grep -E "CIFAR-10 not found|cifar10: .*verified|runs in|report with plots" "$tmp/demo.log" || { echo "make demo's log lacks the fetch and run lines:"; tail -40 "$tmp/demo.log"; exit 1; }
grep -c '"GET /cifar-10-binary.tar.gz' "$tmp/server.log" | sed 's/^/mirror requests for the archive: /'
test -s data/cifar10/cifar-10-binary.tar.gz && test -s demo-out/report.md
echo "== fetched data/cifar10/cifar-10-binary.tar.gz ($(stat -c %s data/cifar10/cifar-10-binary.tar.gz) bytes) and wrote demo-out/report.md"
sed -n '/^## demo-resnet20/,/^On /p' demo-out/report.md | head -n 20
