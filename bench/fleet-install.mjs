// Fleet install, side by side: the same bundle onto K emulated boards (K = 1, 4, 8) by
//   (a) crossdock install,
//   (b) an Ansible playbook doing the same job the way its users write it (copy, unarchive,
//       units from a template, links, a health command; facts gathered, as by default),
//   (c) the floor: plain OpenSSH in parallel, `ssh board 'cat > f && tar x'`, nothing else;
// then the no-op re-install with (a) and (b), bytes sent included. Medians of --runs runs; raw
// results and the machine's description go to bench/results/fleet-install-<date>.json.
//
// Usage (as root; ansible-core from Debian): node bench/fleet-install.mjs --dist DIST [--boards 1,4,8] [--runs 3] [--model rpi-3]
import { execFileSync, spawn } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    dist: { type: 'string' },
    boards: { type: 'string', default: '1,4,8' },
    runs: { type: 'string', default: '3' },
    model: { type: 'string', default: 'rpi-3' },
  },
});
if (!values.dist) {
  console.error('bench: --dist DIST (a dist crossdock build wrote, e.g. dist/20.10.24)');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/bin.js');
const dist = resolve(values.dist);
const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'crossdock-bench-fleet-'));
const state = join(work, 'boards');
const env = { ...process.env, CROSSDOCK_BOARD_DIR: state, CI: 'true' };
const counts = values.boards.split(',').map(Number);
const runs = Number(values.runs);

const run = (command, args, options = {}) =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolvePromise(stdout)
        : reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${stderr.slice(-2000)}${stdout.slice(-2000)}`)),
    );
  });
const seconds = async (work) => {
  const start = performance.now();
  const result = await work();
  return { seconds: (performance.now() - start) / 1000, result };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const boards = () => JSON.parse(execFileSync(process.execPath, [bin, 'board', 'list', '--json'], { env }).toString());
const sshArgs = (board) => [
  '-o',
  `UserKnownHostsFile=${join(state, 'inventory.known_hosts')}`,
  '-o',
  'BatchMode=yes',
  '-i',
  board.identityFile,
  '-p',
  String(board.port),
  `${board.user}@${board.address}`,
];
const onAll = (command) => Promise.all(boards().map((board) => run('ssh', [...sshArgs(board), command])));
const reset = () =>
  onAll(
    'rm -rf /opt/crossdock /opt/ansible-docker /opt/floor /etc/systemd/system/docker.service; for b in dockerd docker docker-proxy docker-init containerd containerd-shim-runc-v2 ctr runc; do rm -f /usr/local/bin/$b; done',
  );

// Ansible: an inventory of the same boards, and the playbook a user would write.
const bundles = Object.fromEntries(manifest.artifacts.filter((a) => a.kind === 'bundle').map((a) => [a.target, a]));
function writeAnsible(list) {
  const directory = join(work, 'ansible');
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, 'inventory.ini'),
    `[boards]\n${list
      .map(
        (b) =>
          `${b.name} ansible_host=${b.address} ansible_port=${b.port} ansible_user=${b.user} ansible_ssh_private_key_file=${b.identityFile} target=${b.target}`,
      )
      .join('\n')}\n`,
  );
  writeFileSync(
    join(directory, 'ansible.cfg'),
    `[defaults]\nforks = ${Math.max(list.length, 5)}\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n[ssh_connection]\nssh_args = -o UserKnownHostsFile=${join(state, 'inventory.known_hosts')} -o ControlMaster=auto -o ControlPersist=60s\n`,
  );
  writeFileSync(
    join(directory, 'docker.service.j2'),
    readFileSync(join(dist, 'systemd/docker.service'), 'utf8').replace(
      '/usr/local/bin/dockerd',
      '{{ prefix }}/current/dockerd',
    ),
  );
  const binaries = [
    'dockerd',
    'docker',
    'docker-proxy',
    'docker-init',
    'containerd',
    'containerd-shim-runc-v2',
    'ctr',
    'runc',
  ];
  writeFileSync(
    join(directory, 'install.yml'),
    `- hosts: boards
  vars:
    version: "${manifest.version}"
    prefix: /opt/ansible-docker
    bundles: ${JSON.stringify(Object.fromEntries(Object.entries(bundles).map(([t, b]) => [t, join(dist, b.file)])))}
  tasks:
    - name: version directory
      ansible.builtin.file: { path: "{{ prefix }}/versions/{{ version }}", state: directory }
    - name: copy the bundle
      ansible.builtin.copy: { src: "{{ bundles[target] }}", dest: "{{ prefix }}/{{ bundles[target] | basename }}" }
    - name: unpack
      ansible.builtin.unarchive:
        src: "{{ prefix }}/{{ bundles[target] | basename }}"
        dest: "{{ prefix }}/versions/{{ version }}"
        remote_src: true
        extra_opts: [--strip-components=1]
        creates: "{{ prefix }}/versions/{{ version }}/dockerd"
    - name: switch
      ansible.builtin.file: { src: "{{ prefix }}/versions/{{ version }}", dest: "{{ prefix }}/current", state: link }
    - name: link the binaries
      ansible.builtin.file: { src: "{{ prefix }}/current/{{ item }}", dest: "/usr/local/bin/{{ item }}", state: link }
      loop: ${JSON.stringify(binaries)}
    - name: unit
      ansible.builtin.template: { src: docker.service.j2, dest: /etc/systemd/system/docker.service }
    - name: health
      ansible.builtin.command: /usr/local/bin/dockerd --version
      changed_when: false
`,
  );
  return directory;
}

const bytesOnWire = async (work) => {
  // Bytes the host sent to the boards' network, from the interfaces' counters.
  const read = () =>
    boards().reduce((sum, b) => {
      try {
        return sum + Number(readFileSync(`/sys/class/net/cdh${b.index}/statistics/tx_bytes`, 'utf8'));
      } catch {
        return sum;
      }
    }, 0);
  const before = read();
  const timed = await seconds(work);
  return { ...timed, bytes: read() - before };
};

const tools = {
  crossdock: () =>
    run(process.execPath, [bin, 'install', '--inventory', join(state, 'inventory.yaml'), '--from', dist, '--json']),
  ansible: (directory) =>
    run('ansible-playbook', ['-i', join(directory, 'inventory.ini'), join(directory, 'install.yml')], {
      cwd: directory,
      env: { ...env, ANSIBLE_CONFIG: join(directory, 'ansible.cfg') },
    }),
  floor: () =>
    Promise.all(
      boards().map((board) => {
        const bundle = bundles[board.target];
        return run('sh', [
          '-c',
          `ssh ${sshArgs(board)
            .map((a) => `'${a}'`)
            .join(
              ' ',
            )} 'mkdir -p /opt/floor && cat > /opt/floor/b.tgz && tar -xzf /opt/floor/b.tgz -C /opt/floor' < '${join(dist, bundle.file)}'`,
        ]);
      }),
    ),
};

const results = [];
try {
  for (const count of counts) {
    await run(process.execPath, [bin, 'board', 'down', '--all']).catch(() => undefined);
    await run(process.execPath, [bin, 'board', 'up', '--model', values.model, '--count', String(count)]);
    const ansibleDirectory = writeAnsible(boards());
    const samples = { crossdock: [], ansible: [], floor: [], 'crossdock no-op': [], 'ansible no-op': [] };
    const bytes = {};
    for (let i = 0; i < runs; i += 1) {
      for (const tool of ['crossdock', 'ansible', 'floor']) {
        await reset();
        const measured = await bytesOnWire(() => tools[tool](ansibleDirectory));
        samples[tool].push(measured.seconds);
        bytes[tool] = measured.bytes;
        if (tool !== 'floor') {
          const again = await bytesOnWire(() => tools[tool](ansibleDirectory));
          samples[`${tool} no-op`].push(again.seconds);
          bytes[`${tool} no-op`] = again.bytes;
        }
      }
    }
    const row = { boards: count, medians: {}, samples, bytes };
    for (const [tool, xs] of Object.entries(samples)) row.medians[tool] = median(xs);
    results.push(row);
    console.log(
      `K=${count}: crossdock ${row.medians.crossdock.toFixed(1)} s, ansible ${row.medians.ansible.toFixed(1)} s, floor ${row.medians.floor.toFixed(1)} s; no-op crossdock ${row.medians['crossdock no-op'].toFixed(1)} s (${bytes['crossdock no-op']} B), ansible ${row.medians['ansible no-op'].toFixed(1)} s (${bytes['ansible no-op']} B)`,
    );
  }
} finally {
  await run(process.execPath, [bin, 'board', 'down', '--all']).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}

const pad = (text, width) => String(text).padEnd(width);
console.log(`\nfleet install of ${manifest.version} (${values.model} boards, medians of ${runs})`);
console.log(
  [
    'boards',
    'crossdock s',
    'ansible s',
    'floor s',
    'ansible/crossdock',
    'crossdock/floor',
    'no-op crossdock s',
    'no-op ansible s',
    'no-op ratio',
    'no-op bytes (cd / ansible)',
  ]
    .map((h) => pad(h, 14))
    .join(' '),
);
for (const r of results) {
  const m = r.medians;
  console.log(
    [
      r.boards,
      m.crossdock.toFixed(1),
      m.ansible.toFixed(1),
      m.floor.toFixed(1),
      `${(m.ansible / m.crossdock).toFixed(1)}×`,
      `${(m.crossdock / m.floor).toFixed(2)}×`,
      m['crossdock no-op'].toFixed(1),
      m['ansible no-op'].toFixed(1),
      `${(m['ansible no-op'] / m['crossdock no-op']).toFixed(1)}×`,
      `${r.bytes['crossdock no-op']} / ${r.bytes['ansible no-op']}`,
    ]
      .map((c) => pad(c, 14))
      .join(' '),
  );
}
const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  kernel: execFileSync('uname', ['-r']).toString().trim(),
  node: process.version,
  ansible: execFileSync('ansible', ['--version']).toString().split('\n')[0],
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = join(root, 'bench/results', `fleet-install-${new Date().toISOString().slice(0, 10)}.json`);
writeFileSync(
  out,
  `${JSON.stringify({ machine, dist: manifest.version, model: values.model, runs, results }, null, 2)}\n`,
);
console.log(`\nraw results: ${out}`);
