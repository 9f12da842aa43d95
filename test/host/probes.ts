/**
 * Probes for the firewall tests: a UDP echo server, a UDP probe, a UDP listener that records what
 * it receives, and a hand-built VXLAN frame (what an attacker on the Internet would send).
 */
import type { ChildProcess } from "child_process";
import type { Lab } from "./netns";
import { connect, mustExec, startNode } from "./netns";

const UDP_ECHO = `
const dgram = require("dgram");
const [ports, label] = process.argv.slice(1);
let waiting = 0;
for (const port of ports.split(",")) {
    waiting++;
    const socket = dgram.createSocket("udp4");
    socket.on("message", (message, from) => socket.send(label + " " + port + " from " + from.address, from.port, from.address));
    socket.bind(Number(port), () => { if (--waiting === 0) console.log("listening"); });
}`;

/** A UDP server in `ns` answering every datagram with `<label> <port> from <address>`. */
export async function serveUdp(lab: Lab, ns: string, ports: number[], label: string): Promise<void> {
    lab.adopt(await startNode(ns, UDP_ECHO, [ports.join(","), label], "listening"));
}

const UDP_PROBE = `
const dgram = require("dgram");
const [host, port] = process.argv.slice(1);
const socket = dgram.createSocket("udp4");
const done = (text) => { process.stdout.write(text); process.exit(0); };
socket.on("message", (message) => done(message.toString()));
socket.on("error", (error) => done("ERR " + error.code));
socket.connect(Number(port), host, () => socket.send("probe"));
setTimeout(() => done("ERR timeout"), 1500);`;

/** Sends one datagram from `ns` to host:port; the answer, `ERR ECONNREFUSED` (rejected) or `ERR timeout`. */
export function probeUdp(ns: string, host: string, port: number): string {
    return mustExec(ns, [process.execPath, "-e", UDP_PROBE, host, String(port)]);
}

const UDP_LISTENER = `
const dgram = require("dgram");
const socket = dgram.createSocket("udp4");
socket.on("message", (message) => console.log("got " + message.toString()));
socket.bind(Number(process.argv[1]), () => console.log("listening"));`;

/** Records the datagrams that reach `ns` on `port` (what a VM receives). */
export class UdpListener {
    private readonly lines: string[] = [];

    private constructor(private readonly child: ChildProcess) {
        child.stdout!.on("data", (chunk: Buffer) =>
            this.lines.push(
                ...chunk
                    .toString()
                    .split("\n")
                    .filter((line) => line.startsWith("got ")),
            ),
        );
    }

    static async start(lab: Lab, ns: string, port: number): Promise<UdpListener> {
        const child = await startNode(ns, UDP_LISTENER, [String(port)], "listening");
        lab.adopt(child);
        return new UdpListener(child);
    }

    /** The payloads received so far, after waiting `ms` for stragglers. */
    async received(ms = 700): Promise<string[]> {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return this.lines.map((line) => line.slice(4));
    }
}

/** What goes inside the VXLAN frame: an IPv4/UDP datagram to a VM. */
export interface InnerDatagram {
    vni: number;
    /** The VM's MAC, e.g. `02:00:ac:11:02:0a`. */
    dstMac: string;
    srcIp: string;
    dstIp: string;
    dstPort: number;
    payload: string;
}

/** The UDP payload of a VXLAN packet (RFC 7348) carrying an Ethernet frame with `inner`. */
export function vxlanPacket(inner: InnerDatagram): Buffer {
    const data = Buffer.from(inner.payload);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(inner.dstPort, 2);
    udp.writeUInt16BE(8 + data.length, 4); // checksum 0: none, allowed over IPv4
    const ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + udp.length + data.length, 2);
    ip.writeUInt8(64, 8);
    ip.writeUInt8(17, 9);
    Buffer.from(inner.srcIp.split(".").map(Number)).copy(ip, 12);
    Buffer.from(inner.dstIp.split(".").map(Number)).copy(ip, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const ethernet = Buffer.concat([
        Buffer.from(inner.dstMac.split(":").map((byte) => parseInt(byte, 16))),
        Buffer.from([0x02, 0x00, 0xde, 0xad, 0xbe, 0xef]),
        Buffer.from([0x08, 0x00]),
    ]);
    const header = Buffer.alloc(8);
    header.writeUInt8(0x08, 0); // "VNI present"
    header.writeUIntBE(inner.vni, 4, 3);
    return Buffer.concat([header, ethernet, ip, udp, data]);
}

const UDP_SEND = `
const dgram = require("dgram");
const [host, port, hex] = process.argv.slice(1);
const socket = dgram.createSocket("udp4");
socket.send(Buffer.from(hex, "hex"), Number(port), host, (error) => { if (error) throw error; socket.close(); });`;

/** Sends `packet` as one UDP datagram from `ns` to host:port, three times (UDP may lose one). */
export function sendUdp(ns: string, host: string, port: number, packet: Buffer): void {
    for (let i = 0; i < 3; i++) mustExec(ns, [process.execPath, "-e", UDP_SEND, host, String(port), packet.toString("hex")]);
}

/** A port and its protocol, as the matrix lists it. */
export interface MatrixPort {
    port: number;
    protocol: "tcp" | "udp";
}

/** Where a probe comes from: a namespace and the host address it aims at. */
export interface MatrixSource {
    label: string;
    ns: string;
    target: string;
}

/**
 * What `host` answers, port by port and source by source: `open` (the server answered), `refused`
 * (rejected) or `dropped` (no answer). Starts the servers itself. One line per port:
 * `<port>/<protocol> <result per source…>`.
 */
export async function portMatrix(lab: Lab, host: string, ports: MatrixPort[], sources: MatrixSource[]): Promise<string[]> {
    const tcp = ports.filter((p) => p.protocol === "tcp").map((p) => p.port);
    const udp = ports.filter((p) => p.protocol === "udp").map((p) => p.port);
    if (tcp.length > 0) await lab.serve(host, tcp, "host");
    if (udp.length > 0) await serveUdp(lab, host, udp, "host");
    const verdict = (answer: string) => (answer.startsWith("host ") ? "open" : answer === "ERR timeout" ? "dropped" : "refused");
    return ports.map((p) => {
        const results = sources.map((source) =>
            verdict(p.protocol === "tcp" ? connect(source.ns, source.target, p.port) : probeUdp(source.ns, source.target, p.port)),
        );
        return [`${p.port}/${p.protocol}`, ...results].join(" ");
    });
}
