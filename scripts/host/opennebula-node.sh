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
#
# Installs only (ACTION=create): packages are not removed, other software on the host may use them.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name opennebula-node.sh

readonly MODPROBE_FILE=/etc/modprobe.d/opennebula-edge-kvm.conf
readonly APPARMOR_FILE=/etc/apparmor.d/abstractions/libvirt-qemu
# Datastore paths the qemu processes must reach (as oneprovision's role allowed).
readonly APPARMOR_LINES=("  /srv/** rwk," "  /var/lib/one/datastores/** rwk,")

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
  say "installed $PACKAGE"
}

configure_nested() {
  [[ -n $NESTED ]] || return 0
  local file=$ROOT$MODPROBE_FILE content
  content=$(modprobe_content)
  [[ -f $file && $(cat "$file") == "$content" ]] && return 0
  printf '%s\n' "$content" | write_if_changed "$file" 0644
  CHANGED=yes
  [[ -z $ROOT ]] || return 0
  local module
  for module in kvm_intel kvm_amd; do
    [[ -d /sys/module/$module ]] || continue
    if run modprobe -r "$module" 2>/dev/null && run modprobe "$module"; then
      say "reloaded $module"
    else
      say "$module is in use; the nested setting applies after a reboot" >&2
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
  say "allowed the datastores in $file"
  if [[ -z $ROOT ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl reload apparmor 2>/dev/null || true
  fi
}

start_libvirtd() {
  if [[ -n $ROOT ]] || ! command -v systemctl >/dev/null 2>&1; then
    return 0
  fi
  run systemctl enable libvirtd >/dev/null 2>&1 || true
  if [[ $CHANGED == yes ]]; then
    run systemctl restart libvirtd
  elif ! systemctl is-active --quiet libvirtd; then
    run systemctl start libvirtd
  fi
}

main() {
  read_action create
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
  say "$PACKAGE ready for HYPERVISOR=$HV"
}

main "$@"
