#!/usr/bin/env bash
# Installs the OpenNebula node package (what oneprovision's opennebula-node-kvm /
# opennebula-node-lxc roles did). Run opennebula-repo.sh first.
#
# Environment:
#   HYPERVISOR           required: kvm (bare metal), qemu (virtual instances: KVM driver with
#                        emulation, as oneprovision used on cloud VMs) or lxc
#   KVM_NESTED           kvm only, optional: yes | no writes the nested option of kvm_intel /
#                        kvm_amd (modules are reloaded when possible, else it applies at the
#                        next boot); unset leaves the module options alone. oneprovision's
#                        virtual provisions turned KVM management off, so qemu never touches them.
#   ONE_NODE_PRINT_ONLY  1: only print the plan (package, files), change nothing
#   HOST_ROOT            prefix for the files written (default: none, i.e. /); packages and
#                        services are those of the running system
set -euo pipefail

readonly SCRIPT=opennebula-node.sh
readonly ROOT=${HOST_ROOT:-}
readonly MODPROBE_FILE=/etc/modprobe.d/opennebula-edge-kvm.conf
readonly APPARMOR_FILE=/etc/apparmor.d/abstractions/libvirt-qemu
# Datastore paths the qemu processes must reach (as oneprovision's role allowed).
readonly APPARMOR_LINES=("  /srv/** rwk," "  /var/lib/one/datastores/** rwk,")

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

CHANGED=no

read_inputs() {
  HV=${HYPERVISOR:-}
  case $HV in
    kvm | qemu) PACKAGE=opennebula-node-kvm ;;
    lxc) PACKAGE=opennebula-node-lxc ;;
    *) die "HYPERVISOR must be one of kvm, qemu, lxc (got '$HV')" ;;
  esac
  NESTED=${KVM_NESTED:-}
  [[ -z $NESTED || $NESTED == yes || $NESTED == no ]] ||
    die "KVM_NESTED must be yes or no (got '$NESTED')"
  [[ -z $NESTED || $HV == kvm ]] ||
    die "KVM_NESTED applies only to HYPERVISOR=kvm (got HYPERVISOR=$HV)"
  PRINT_ONLY=${ONE_NODE_PRINT_ONLY:-0}
  [[ $PRINT_ONLY == 0 || $PRINT_ONLY == 1 ]] ||
    die "ONE_NODE_PRINT_ONLY must be 0 or 1 (got '$PRINT_ONLY')"
}

modprobe_content() {
  local value=0
  [[ $NESTED == yes ]] && value=1
  printf '%s\n' "# Managed by opennebula-edge (opennebula-node.sh)" \
    "options kvm_intel nested=$value" "options kvm_amd nested=$value"
}

print_plan() {
  echo "package=$PACKAGE"
  if [[ -n $NESTED ]]; then
    echo "modprobe_file=$MODPROBE_FILE"
    modprobe_content | sed 's/^/modprobe: /'
  fi
  if [[ $HV != lxc ]]; then
    echo "apparmor_file=$APPARMOR_FILE"
    echo "service=libvirtd"
  fi
}

apt_get() {
  # Fresh cloud machines often run unattended-upgrades at boot; wait for the dpkg lock.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -q "$@"
}

install_package() {
  if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q 'install ok installed'; then
    return 0
  fi
  # cloud-init may still be installing packages on a machine that has just booted.
  if command -v cloud-init >/dev/null 2>&1; then
    cloud-init status --wait >/dev/null 2>&1 || true
  fi
  if ! apt-cache show "$PACKAGE" >/dev/null 2>&1; then
    apt_get update
  fi
  apt_get install -y "$PACKAGE" || die "could not install $PACKAGE (is the OpenNebula repository configured? run opennebula-repo.sh)"
  CHANGED=yes
  echo "$SCRIPT: installed $PACKAGE"
}

configure_nested() {
  [[ -n $NESTED ]] || return 0
  local file=$ROOT$MODPROBE_FILE content
  content=$(modprobe_content)
  [[ -f $file && $(cat "$file") == "$content" ]] && return 0
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file"
  CHANGED=yes
  echo "$SCRIPT: wrote $file"
  [[ -z $ROOT ]] || return 0
  local module
  for module in kvm_intel kvm_amd; do
    [[ -d /sys/module/$module ]] || continue
    if modprobe -r "$module" 2>/dev/null && modprobe "$module"; then
      echo "$SCRIPT: reloaded $module"
    else
      echo "$SCRIPT: $module is in use; the nested setting applies after a reboot" >&2
    fi
  done
}

allow_datastores_in_apparmor() {
  local file=$ROOT$APPARMOR_FILE line added=no
  [[ -f $file ]] || return 0
  for line in "${APPARMOR_LINES[@]}"; do
    if ! grep -qxF -- "$line" "$file"; then
      printf '%s\n' "$line" >>"$file"
      added=yes
    fi
  done
  [[ $added == yes ]] || return 0
  CHANGED=yes
  echo "$SCRIPT: allowed the datastores in $file"
  if [[ -z $ROOT ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl reload apparmor 2>/dev/null || true
  fi
}

start_libvirtd() {
  if [[ -n $ROOT ]] || ! command -v systemctl >/dev/null 2>&1; then
    return 0
  fi
  systemctl enable libvirtd >/dev/null 2>&1 || true
  if [[ $CHANGED == yes ]]; then
    systemctl restart libvirtd
  elif ! systemctl is-active --quiet libvirtd; then
    systemctl start libvirtd
  fi
}

main() {
  read_inputs
  if [[ $PRINT_ONLY == 1 ]]; then
    print_plan
    return 0
  fi
  install_package
  if [[ $HV != lxc ]]; then
    configure_nested
    allow_datastores_in_apparmor
    start_libvirtd
  fi
  echo "$SCRIPT: $PACKAGE ready for HYPERVISOR=$HV"
}

main "$@"
