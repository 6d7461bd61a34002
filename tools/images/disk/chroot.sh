#!/bin/bash
# Runs INSIDE the instance image's root (chroot, with /dev, /proc, /sys
# bound) after debootstrap: glean from PyPI, GRUB for BIOS and UEFI, the
# services. Arguments: glean version, the loop device of the disk.
set -eu
glean_version=$1
disk=$2
export LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

python3 -m venv /opt/glean
/opt/glean/bin/pip install --quiet "glean==$glean_version"
/opt/glean/bin/glean-install
ln -sf /opt/glean/bin/glean /usr/local/bin/glean

# BIOS: core.img into the BIOS boot partition, /boot/grub/i386-pc.
grub-install --target=i386-pc --boot-directory=/boot "$disk"
# UEFI: the image for the removable-media path (EFI/BOOT/BOOTX64.EFI, no
# NVRAM entry), made by hand because grub-install insists on a mounted
# FAT ESP; its early config finds /boot/grub by the root's UUID, as
# grub-install's would, and the modules are where that prefix points.
mkdir -p /boot/grub/x86_64-efi
cp /usr/lib/grub/x86_64-efi/*.mod /usr/lib/grub/x86_64-efi/*.lst /boot/grub/x86_64-efi/
grub-mkimage -O x86_64-efi -o /tmp/BOOTX64.EFI -c /tmp/grub-efi-early.cfg -p /boot/grub \
    part_gpt part_msdos ext2 fat search search_fs_uuid normal configfile linux \
    echo test serial terminal efi_gop efi_uga

rm -f /etc/ssh/ssh_host_*
systemctl disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer 2>/dev/null || true
echo debian > /etc/hostname
: > /etc/machine-id
