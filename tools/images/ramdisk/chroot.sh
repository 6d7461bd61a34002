#!/bin/bash
# Runs INSIDE the ramdisk root (chroot) after debootstrap: install the
# agent and glean from PyPI, enable the services, make systemd the
# initramfs' /init. Arguments: IPA version, glean version.
set -eu
ipa_version=$1
glean_version=$2
export LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

python3 -m venv /opt/ipa
/opt/ipa/bin/pip install --quiet "ironic-python-agent==$ipa_version"
ln -sf /opt/ipa/bin/ironic-python-agent /usr/local/bin/ironic-python-agent

python3 -m venv /opt/glean
/opt/glean/bin/pip install --quiet "glean==$glean_version"
# glean-install writes glean-early.service, glean@.service and the udev
# rule that starts glean@<nic> for every NIC with a permanent MAC.
/opt/glean/bin/glean-install
ln -sf /opt/glean/bin/glean /usr/local/bin/glean

systemctl enable ironic-python-agent.service
# Nothing in the ramdisk needs these at boot.
systemctl disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    fstrim.timer mdmonitor-oneshot.timer 2>/dev/null || true
systemctl mask mdmonitor.service mdcheck_start.timer mdcheck_continue.timer \
    systemd-firstboot.service 2>/dev/null || true
# ifupdown's networking.service runs "ifup -a" (only lo here): glean
# brings every NIC up, the unit must not wait for DHCP itself.

echo ipa > /etc/hostname
: > /etc/machine-id
: > /etc/fstab
# The kernel runs /init of an initramfs: systemd.
ln -sf /sbin/init /init
