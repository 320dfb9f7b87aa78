#!/usr/bin/env bash
# Brings up everything the test suite needs, on a fresh Debian machine as root, and prints
# `export` lines for the environment it made. Sourced by scripts/test; usable alone:
#   eval "$(scripts/test-env.sh up)"   ...   scripts/test-env.sh down
#
# - Docker: the daemon at DOCKER_HOST or /var/run/docker.sock; when none answers, a private
#   dockerd from Debian's docker.io (vfs storage, no bridge) under target/test-env/docker.
# - The test image `cbdash-test/base:N`, made locally with `docker import` from Debian's
#   busybox-static plus the host's dash, bash and docker CLI with their libraries: nothing is
#   pulled. /bin/sh is dash, as on CodeBuild's Ubuntu images. Tiny, for the many quick tests.
# - The CodeBuild-like image `cbdash-test/codebuild:N` (CBDASH_TEST_CB_IMAGE), for the end-to-end
#   tests: `debootstrap --variant=minbase bookworm` from the host's Debian mirror plus docker.io
#   (a 20.10 CLI with BuildKit built in), git, python3 and ca-certificates, /bin/sh is dash, and
#   scripts/codebuild-image/runtimes.yml at /codebuild/image/config/runtimes.yml. About 30 s and
#   400 MB, made once per machine (skipped while the tag exists). Outside CI a failure to make it
#   is a warning (the tests that need it skip loudly); with CI=true it fails.
# - A local registry (Debian's docker-registry) and the AWS emulator (moto[server] from PyPI,
#   in a virtualenv under target/test-env), each on 127.0.0.1 with a free port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR="$ROOT/target/test-env"
PIDS="$ENV_DIR/pids"
# Bump the tag whenever the recipe below changes, so stale images are not reused.
IMAGE="cbdash-test/base:2"
# Likewise for the CodeBuild-like image (its recipe is cb_image_build and scripts/codebuild-image/).
CB_IMAGE="cbdash-test/codebuild:1"
mkdir -p "$ENV_DIR"

log() { echo "test-env: $*" >&2; }
in_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }
die() { echo "test-env: error: $*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    for _ in $(seq 1 $((secs * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "$what did not come up within ${secs}s"
}

need_packages() {
    local missing=()
    command -v docker >/dev/null || missing+=(docker.io)
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    command -v tmux >/dev/null || missing+=(tmux)
    command -v curl >/dev/null || missing+=(curl)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]} and not root; install them"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
}

docker_up() {
    if [ -n "${DOCKER_HOST:-}" ] && docker version >/dev/null 2>&1; then
        log "using the Docker daemon at $DOCKER_HOST"; return
    fi
    if [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock docker version >/dev/null 2>&1; then
        export DOCKER_HOST=unix:///var/run/docker.sock
        log "using the Docker daemon at $DOCKER_HOST"; return
    fi
    log "no Docker daemon answers; starting a private dockerd"
    local d="$ENV_DIR/docker"; mkdir -p "$d"
    dockerd --data-root "$d/root" --exec-root "$d/exec" -H "unix://$d/docker.sock" \
        --pidfile "$d/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
        --storage-driver=vfs >"$d/dockerd.log" 2>&1 &
    echo "$! dockerd" >>"$PIDS"
    export DOCKER_HOST="unix://$d/docker.sock"
    wait_for 60 dockerd docker version
}

copy_with_libs() { # copy_with_libs ROOTFS BINARY DEST
    local rootfs=$1 bin=$2 dest=$3
    install -D -m 755 "$bin" "$rootfs$dest"
    for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
        [ -e "$rootfs$lib" ] || install -D -m 755 "$lib" "$rootfs$lib"
    done
}

image_up() {
    if docker image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
    log "making $IMAGE from busybox-static, dash, bash and the docker CLI"
    local rootfs="$ENV_DIR/rootfs"; rm -rf "$rootfs"; mkdir -p "$rootfs"/{bin,usr/bin,usr/local/bin,tmp,root,etc,var/run}
    install -m 755 /bin/busybox "$rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
    done
    # Ubuntu has no `[[` binary: without this busybox applet, `[[` fails under dash as on CodeBuild.
    rm -f "$rootfs/bin/sh" "$rootfs/bin/bash" "$rootfs/bin/[["
    copy_with_libs "$rootfs" "$(command -v dash)" /bin/dash
    copy_with_libs "$rootfs" "$(command -v bash)" /bin/bash
    ln -s dash "$rootfs/bin/sh"
    # The 20.10 CLI from docker.io still has the built-in BuildKit client (--progress=plain).
    if [ -x /usr/bin/docker ]; then copy_with_libs "$rootfs" /usr/bin/docker /usr/local/bin/docker; fi
    chmod 1777 "$rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    tar -C "$rootfs" -cf "$ENV_DIR/rootfs.tar" .
    docker import --change 'CMD ["/bin/sh"]' "$ENV_DIR/rootfs.tar" "$IMAGE" >/dev/null
}

# DEBIAN_MIRROR, else the first Debian mirror apt uses here (deb822 or one-line format), else
# Debian's own.
debian_mirror() {
    local uri=${DEBIAN_MIRROR:-}
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# Unmounts ROOTFS/proc when it is mounted, then removes ROOTFS; never removes across a mount.
cb_rootfs_clean() {
    local rootfs=$1
    if mountpoint -q "$rootfs/proc" 2>/dev/null; then
        umount "$rootfs/proc" 2>/dev/null || umount -l "$rootfs/proc" ||
            { echo "test-env: error: cannot unmount $rootfs/proc" >&2; return 1; }
    fi
    rm -rf --one-file-system "$rootfs"
}

# Makes $CB_IMAGE (`test-env.sh codebuild-image`, run as its own process so that `set -e` holds:
# bash ignores it in a function called under `if`). The EXIT trap unmounts /proc and removes the
# rootfs whatever step fails; each step's output goes to a log that the error names.
cb_image_build() {
    rootfs="$ENV_DIR/codebuild-rootfs" logf="$ENV_DIR/codebuild-image.log"
    (
        trap 'cb_rootfs_clean "$rootfs"' EXIT
        fail() { echo "test-env: error: $* (log: $logf)" >&2; tail -n 20 "$logf" >&2; exit 1; }
        cb_rootfs_clean "$rootfs"
        : >"$logf"
        local t=$SECONDS
        debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >>"$logf" 2>&1 ||
            fail "debootstrap failed"
        log "debootstrap took $((SECONDS - t)) s"; t=$SECONDS
        # No service may start inside the chroot (docker.io's postinst would try dockerd).
        printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
        chmod 755 "$rootfs/usr/sbin/policy-rc.d"
        # Some maintainer scripts read /proc; mount it only when debootstrap left none mounted.
        mountpoint -q "$rootfs/proc" || mount --bind /proc "$rootfs/proc" || fail "cannot mount /proc"
        chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends docker.io git python3 ca-certificates >>"$logf" 2>&1 ||
            fail "apt-get install in the chroot failed"
        chroot "$rootfs" apt-get clean >>"$logf" 2>&1
        log "docker.io, git, python3 took $((SECONDS - t)) s"; t=$SECONDS
        # A maintainer script may leave a process holding /proc for a moment: detach it then.
        umount "$rootfs/proc" || umount -l "$rootfs/proc" || fail "cannot unmount $rootfs/proc"
        rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/usr/sbin/policy-rc.d"
        [ "$(readlink "$rootfs/bin/sh")" = dash ] || fail "/bin/sh is not dash in the image"
        install -D -m 644 "$ROOT/scripts/codebuild-image/runtimes.yml" \
            "$rootfs/codebuild/image/config/runtimes.yml"
        tar --numeric-owner -C "$rootfs" -c . | docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["/bin/bash"]' - "$CB_IMAGE" >>"$logf" 2>&1 ||
            fail "docker import failed"
        log "docker import took $((SECONDS - t)) s"
    )
}

# Exports CBDASH_TEST_CB_IMAGE when the image is there (made now if missing).
cb_image_up() {
    CB_IMAGE_READY=""
    if ! docker image inspect "$CB_IMAGE" >/dev/null 2>&1; then
        log "making $CB_IMAGE with debootstrap (about 30 s, once per machine)"
        local start=$SECONDS
        if ! "$ROOT/scripts/test-env.sh" codebuild-image; then
            in_ci && die "could not make $CB_IMAGE"
            log "warning: could not make $CB_IMAGE; the end-to-end tests will skip"
            return 0
        fi
        log "made $CB_IMAGE in $((SECONDS - start)) s"
    fi
    CB_IMAGE_READY=$CB_IMAGE
}

registry_up() {
    local port; port=$(free_port)
    mkdir -p "$ENV_DIR/registry"
    cat >"$ENV_DIR/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $ENV_DIR/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YAML
    docker-registry serve "$ENV_DIR/registry.yml" >"$ENV_DIR/registry.log" 2>&1 &
    echo "$! registry" >>"$PIDS"
    export CBDASH_TEST_REGISTRY="127.0.0.1:$port"
    wait_for 30 "the registry" curl -fsS "http://$CBDASH_TEST_REGISTRY/v2/"
}

moto_up() {
    local venv="$ENV_DIR/venv"
    if [ ! -x "$venv/bin/moto_server" ]; then
        log "installing moto[server] into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q 'moto[server]' >&2
    fi
    local port; port=$(free_port)
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$ENV_DIR/moto.log" 2>&1 &
    echo "$! moto" >>"$PIDS"
    export CBDASH_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
    wait_for 60 "the AWS emulator" curl -fsS "$CBDASH_TEST_AWS_ENDPOINT/moto-api/"
}

down() {
    [ -f "$PIDS" ] || return 0
    while read -r pid name; do
        kill "$pid" 2>/dev/null && log "stopped $name ($pid)" || true
    done <"$PIDS"
    rm -f "$PIDS"
}

case "${1:-up}" in
    up)
        need_packages
        down
        docker_up
        image_up
        cb_image_up
        registry_up
        moto_up
        echo "export DOCKER_HOST='$DOCKER_HOST'"
        echo "export CBDASH_TEST_IMAGE='$IMAGE'"
        echo "export CBDASH_TEST_CB_IMAGE='$CB_IMAGE_READY'"
        echo "export CBDASH_TEST_REGISTRY='$CBDASH_TEST_REGISTRY'"
        echo "export CBDASH_TEST_AWS_ENDPOINT='$CBDASH_TEST_AWS_ENDPOINT'"
        echo "export CBDASH_TEST_SHARED='$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)'"
        ;;
    down) down ;;
    codebuild-image) cb_image_build ;;
    *) die "usage: $0 up|down|codebuild-image" ;;
esac
