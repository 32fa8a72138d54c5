import { describe, expect, it } from 'vitest';
import { findModel, loadBoardModels } from '../../src/boards/models.js';
import { lanAddress, lanMac, vmArguments, vmPackages } from '../../src/boards/vm.js';
import { loadTargets } from '../../src/platform/targets.js';

describe('full-system board models', () => {
  it("vm-arm64 boots Debian's kernel on virt with its disks on PCI and sshd only on loopback", async () => {
    const model = findModel(await loadBoardModels(await loadTargets()), 'vm-arm64');
    expect(model.vm).toMatchObject({
      binary: 'qemu-system-aarch64',
      machine: 'virt',
      cpus: 2,
      memoryMiB: 1024,
      diskGiB: 8,
    });
    if (!model.vm) throw new Error('not a vm model');
    const args = vmArguments(
      { ...model, vm: model.vm },
      { image: '/i/root.img', kernel: '/i/vmlinuz', initrd: '/i/initrd.img' },
      {
        overlay: '/b/disk.qcow2',
        seed: '/b/seed.img',
        port: 40022,
      },
    );
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(value('-M')).toBe('virt');
    expect(value('-cpu')).toBe('cortex-a53');
    expect(value('-append')).toContain('root=LABEL=cd-root');
    expect(value('-append')).toContain('console=ttyAMA0');
    // The guest reaches nothing; the host reaches its sshd on loopback only.
    expect(value('-netdev')).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(args.filter((a) => a.startsWith('virtio-blk'))).toEqual([
      'virtio-blk-pci,drive=root',
      'virtio-blk-pci,drive=seed',
    ]);
    expect(args).toContain('if=none,id=seed,file=/b/seed.img,format=raw,readonly=on');
  });

  it('vm-x86_64 is a q35 PC, and every VM board gets a NIC on the LAN hub with its own MAC', async () => {
    const model = findModel(await loadBoardModels(await loadTargets()), 'vm-x86_64');
    if (!model.vm) throw new Error('not a vm model');
    const args = vmArguments(
      { ...model, vm: model.vm },
      { image: '/i/root.img', kernel: '/i/vmlinuz', initrd: '/i/initrd.img' },
      {
        overlay: '/b/disk.qcow2',
        seed: '/b/seed.img',
        port: 40022,
        apiPort: 40023,
        lan: { hubPort: 5555, localPort: 6666, mac: lanMac(3) },
      },
    );
    expect(args[args.indexOf('-M') + 1]).toBe('q35');
    // The engine's remote API (fleet tls) is forwarded beside sshd, to loopback too.
    expect(args).toContain(
      'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40023-:2376',
    );
    expect(args).not.toContain('-cpu');
    expect(args).toContain('socket,id=lan,udp=127.0.0.1:5555,localaddr=127.0.0.1:6666');
    expect(args).toContain('virtio-net-pci,netdev=lan,mac=52:54:00:cd:00:03');
    expect(lanAddress(1)).toBe('10.203.0.2');
  });

  it('a VM image carries the kernel of its architecture and what dockerd needs', () => {
    expect(vmPackages('arm64')).toEqual(
      expect.arrayContaining(['linux-image-arm64', 'systemd-sysv', 'iptables', 'openssh-server']),
    );
    expect(vmPackages('amd64')).toContain('linux-image-amd64');
  });
});

describe('what boards need, and the fix the hint names', () => {
  it('names the package that provides each missing tool, not a fixed list', async () => {
    const { boardToolsHint } = await import('../../src/boards/board.js');
    // vm-arm64 without qemu-img: qemu-utils provides it, not debootstrap or build-essential.
    expect(boardToolsHint(['qemu-img'])).toBe('apt-get install qemu-utils');
    expect(boardToolsHint(['debootstrap', 'ip', 'mke2fs'])).toBe('apt-get install debootstrap iproute2 e2fsprogs');
  });
});
