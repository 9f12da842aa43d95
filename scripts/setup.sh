#!/usr/bin/env bash
# Installs everything the lab and the tests need on a fresh Debian/Ubuntu machine (run as root):
# the Debian packages of the network lab and host-script checks, the lab's wireguard-go with TUN
# offloads (Debian trixie's, program only: scripts/lab/install-wireguard-go.sh), then the npm
# packages. Running it again installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(frr frr-pythontools wireguard-tools wireguard-go iproute2 iputils-ping iperf3 iptables shellcheck jq procps psmisc util-linux)
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
# Best effort: without it (no network to Debian, no Debian archive keyring on Ubuntu) the lab runs
# the distribution's wireguard-go, and the tests that need this one skip, saying so.
bash scripts/lab/install-wireguard-go.sh ||
  echo "setup.sh: warning: the lab's wireguard-go was not installed (see above); the lab uses the distribution's wireguard-go, without TUN offloads" >&2
npm ci --no-audit --no-fund
