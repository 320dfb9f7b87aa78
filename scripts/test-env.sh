#!/usr/bin/env bash
# Brings up everything the test suite needs, on a fresh Debian machine as root, and prints
# `export` lines for the environment it made. Sourced by scripts/test; usable alone:
#   eval "$(scripts/test-env.sh up)"   ...   scripts/test-env.sh down
#
# - Docker: the daemon at DOCKER_HOST or /var/run/docker.sock; when none answers, a private
#   dockerd from Debian's docker.io (vfs storage, no bridge) under target/test-env/docker.
# - The test image `cbdash-test/base:latest`, made locally with `docker import` from Debian's
#   busybox-static plus the host's dash, bash and docker CLI with their libraries: nothing is
#   pulled. /bin/sh is dash, as on CodeBuild's Ubuntu images.
# - A local registry (Debian's docker-registry) and the AWS emulator (moto[server] from PyPI,
#   in a virtualenv under target/test-env), each on 127.0.0.1 with a free port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR="$ROOT/target/test-env"
PIDS="$ENV_DIR/pids"
# Bump the tag whenever the recipe below changes, so stale images are not reused.
IMAGE="cbdash-test/base:2"
mkdir -p "$ENV_DIR"

log() { echo "test-env: $*" >&2; }
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
        registry_up
        moto_up
        echo "export DOCKER_HOST='$DOCKER_HOST'"
        echo "export CBDASH_TEST_IMAGE='$IMAGE'"
        echo "export CBDASH_TEST_REGISTRY='$CBDASH_TEST_REGISTRY'"
        echo "export CBDASH_TEST_AWS_ENDPOINT='$CBDASH_TEST_AWS_ENDPOINT'"
        echo "export CBDASH_TEST_SHARED='$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)'"
        ;;
    down) down ;;
    *) die "usage: $0 up|down" ;;
esac
