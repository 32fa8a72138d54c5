/**
 * systemd units for the install layout: binaries in /usr/local/bin (linked there from
 * /opt/crossdock/current), like Docker's static-binary install guide. Adapted from moby's
 * contrib/init/systemd and containerd's containerd.service.
 */
export interface Unit {
  file: string;
  /** The binary that must be in the bundle for the unit to make sense. */
  requires: string;
  content: string;
}

export const UNITS: readonly Unit[] = [
  {
    file: 'containerd.service',
    requires: 'containerd',
    content: `[Unit]
Description=containerd container runtime (crossdock)
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
LimitNOFILE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`,
  },
  {
    file: 'docker.service',
    requires: 'dockerd',
    content: `[Unit]
Description=Docker Application Container Engine (crossdock)
Documentation=https://docs.docker.com
After=network-online.target docker.socket firewalld.service containerd.service time-set.target
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
ExecStart=/usr/local/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
RestartSec=2
Restart=always
StartLimitBurst=3
StartLimitInterval=60s
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
`,
  },
  {
    file: 'docker.socket',
    requires: 'dockerd',
    content: `[Unit]
Description=Docker Socket for the API (crossdock)

[Socket]
ListenStream=/run/docker.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
`,
  },
];

export function unitsFor(binaries: readonly string[]): Unit[] {
  return UNITS.filter((unit) => binaries.includes(unit.requires));
}
