#!/usr/bin/env bash
# Runs a host script with its environment taken from standard input, for SSH sessions that
# drop client-side variables (sshd only accepts those listed in AcceptEnv, and sudo resets
# the rest). components/edge/host-scripts.ts `toStdin` builds the input:
#
#   <this file>
#   NAME=<base64 of the value>     one line per variable
#   --                             end of the environment
#   <the host script>              until end of input
#
# Values are decoded as data and exported; they are never parsed as shell. The braces make
# bash read this whole block before running it, so `read` below sees the lines after it.
{
  set -euo pipefail
  terminated=no
  while IFS= read -r line; do
    if [[ $line == "--" ]]; then
      terminated=yes
      break
    fi
    name=${line%%=*}
    if [[ ! $name =~ ^[A-Z_][A-Z0-9_]*$ ]]; then
      echo "env-loader: invalid variable name in the environment block" >&2
      exit 2
    fi
    # The trailing "x" keeps trailing newlines of the value, which $(...) would strip.
    value=$(printf '%s' "${line#*=}" | base64 -d && echo x) || {
      echo "env-loader: the value of $name is not valid base64" >&2
      exit 2
    }
    export "$name=${value%x}"
  done
  script=$(cat)
  if [[ $terminated == no || -z $script ]]; then
    echo "env-loader: truncated input (no '--' line or no script after it)" >&2
    exit 2
  fi
  # The script gets /dev/null as stdin so that nothing it runs (apt, dpkg) can swallow input.
  exec bash -c "$script" host-script </dev/null
}
