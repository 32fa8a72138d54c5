# What a board is and what it has, changing nothing, in one round trip: the kernel and userland,
# the CPU and the device tree's model (the board identification reads them), /bin/sh's ELF header,
# init, free space where the install goes, the memory cgroup and the kernel command line that
# enables it, iptables, AppArmor, Docker packages and commands already there, crossdock's current
# version, and how root is reached. A fact this board lacks is an empty section.
#
# Inputs: INSTALL_PATH (where crossdock installs: its free space, its current version).
# shellcheck source=facts.sh
[ -n "${CROSSDOCK_FACTS_LOADED:-}" ] || . "${CROSSDOCK_FACTS:?the path of facts.sh}"
# Shell builtins where they do: every program started costs some 50 ms on a Pi Zero or an emulated
# board, and this runs before every install.
show() {
  if [ -r "$1" ]; then
    IFS= read -r _line <"$1"
    printf '%s\n' "$_line"
  fi
}
section uname
uname -m
section kernel
uname -r
section longbit
getconf LONG_BIT 2>/dev/null
section dpkg
dpkg --print-architecture 2>/dev/null
section osrelease
cat /etc/os-release 2>/dev/null
section cpuinfo
cat /proc/cpuinfo 2>/dev/null
section dtmodel
if [ -r /sys/firmware/devicetree/base/model ]; then tr -d '\000' </sys/firmware/devicetree/base/model; fi
section shelf
od -An -v -tx1 -N64 /bin/sh 2>/dev/null | tr -d ' \n'
section init
show /proc/1/comm
if [ -d /run/systemd/system ]; then echo systemd-running; fi
# Free space where the install goes, or at the nearest directory that exists.
section disk
p=$INSTALL_PATH
while [ ! -e "$p" ] && [ -n "$p" ]; do p=${p%/*}; done
df -Pk "${p:-/}" 2>/dev/null | tail -n 1
# cgroup v2's controllers decide where they exist (labelled: the file may be absent), else v1's table.
section memory
if [ -r /sys/fs/cgroup/cgroup.controllers ] && read -r c </sys/fs/cgroup/cgroup.controllers; then
  printf 'controllers: %s\n' "$c"
else
  grep -w '^memory' /proc/cgroups 2>/dev/null
fi
section cmdline
for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
  if [ -f "$f" ]; then
    echo "$f"
    cat "$f"
    break
  fi
done
section iptables
if command -v iptables >/dev/null 2>&1; then iptables --version 2>/dev/null; fi
grep -Eo '^(nf_tables|ip_tables|x_tables)' /proc/modules 2>/dev/null
# dockerd loads its AppArmor profile with apparmor_parser whenever the kernel has AppArmor on.
section apparmor
show /sys/module/apparmor/parameters/enabled
if command -v apparmor_parser >/dev/null 2>&1 || [ -x /sbin/apparmor_parser ]; then echo parser; fi
section packages
# shellcheck disable=SC2016 # dpkg-query's own fields
dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' docker.io docker-ce containerd containerd.io runc 2>/dev/null
section commands
for c in dockerd docker containerd runc; do command -v "$c"; done
if [ -L "$INSTALL_PATH/current" ]; then printf 'crossdock-current %s\n' "$(readlink "$INSTALL_PATH/current")"; fi
section sudo
u=$(id -u)
echo "$u"
if [ "$u" != 0 ] && command -v sudo >/dev/null; then
  if sudo -n true 2>/dev/null; then echo nopasswd; else echo password; fi
fi
section end
