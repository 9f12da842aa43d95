/**
 * A test double of OpenNebula's XML-RPC server (oned 6.10): a real HTTP server on 127.0.0.1 that
 * speaks oned's wire format and reproduces its quirks for clusters, hosts, datastores, virtual
 * networks and VNET templates, images, VM templates, marketplace apps (read-only, three built-in
 * apps of "OpenNebula Public"), virtual routers and VMs with their network leases (see
 * /work/shared/reference/opennebula-xmlrpc.md), plus injectable transport and API faults.
 *
 * Methods by kind (session first, as on the wire):
 * - `one.image.{allocate(template, ds[, no_capacity_check]), delete(id[, force]), info, update, rename}`, `one.imagepool.info(filter, start, end)`
 * - `one.template.{allocate, delete(id[, recursive]), info(id[, extended, decrypt]), update, rename, instantiate(id, name, hold, extra[, persistent])}`, `one.templatepool.info`
 * - `one.marketapp.info`, `one.marketapppool.info` (apps 0 "Alpine Linux 3.13", 1 "Alpine Linux 3.17", 2 "Service Virtual Router")
 * - `one.vrouter.{allocate, delete, info, update, rename, instantiate(id, n_vms, template_id, name, hold, extra)}`, `one.vrouterpool.info`
 * - `one.vm.{info, action(action, id), attachnic(id, template), detachnic(id, nic_id), rename, update (USER_TEMPLATE)}`, `one.vmpool.info(filter, start, end, state)`, `one.vmpool.infoextended`
 *
 * ```ts
 * const one = await OneDouble.start({ vnetCreateMs: 50 });
 * // point a client at one.endpoint with `${one.username}:${one.password}`
 * one.inject({ kind: "reset", method: "one.vn.allocate", afterProcessing: true });
 * await one.stop();
 * ```
 *
 * HTTP behaviour follows xmlrpc-c's Abyss handler: only POST /RPC2 (else 404/405), Content-Type
 * base `text/xml` (else 400), a Content-Length (else 411), keep-alive honoured. A body that is not an
 * XML-RPC call gets fault -503 and is not counted as a call.
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { registerClusterMethods, seedClusters } from "./double/cluster";
import { registerDatastoreMethods, seedDatastores } from "./double/datastore";
import { dispatch, injectedFailure } from "./double/dispatch";
import { FaultCode } from "./double/errors";
import { registerHostMethods } from "./double/host";
import { registerImageMethods } from "./double/image";
import { registerMarketAppMethods, seedMarketApps } from "./double/marketapp";
import { MethodTable } from "./double/methods";
import { VmState } from "./double/objects";
import { registerVmMethods } from "./double/vm";
import { registerVmTemplateMethods } from "./double/vmtemplate";
import { registerVnetMethods } from "./double/vnet";
import { registerVnTemplateMethods } from "./double/vntemplate";
import { registerVrouterMethods } from "./double/vrouter";
import type { MethodCall, RpcValue } from "./double/wire";
import { WireError, decodeMethodCall, encodeFault } from "./double/wire";
import { World } from "./double/world";

/** Timings and identity of a double. */
export interface DoubleOptions {
    /** ms a new virtual network stays in LOCK_CREATE before READY (default 150) */
    vnetCreateMs?: number;
    /** ms an asynchronous delete (vnet) takes before the object disappears (default 150) */
    vnetDeleteMs?: number;
    /** ms before an enabled host goes from INIT to MONITORED (default 100) */
    hostMonitorMs?: number;
    /** ms a new image stays LOCKED (the datastore driver's copy) before READY (default 150) */
    imageReadyMs?: number;
    /** ms a deleted image stays in state DELETE before it disappears (default 100) */
    imageDeleteMs?: number;
    /** ms a VM stays PENDING (the scheduler's delay) before it is ACTIVE in PROLOG (the double deploys without a host; default 150) */
    vmDeployMs?: number;
    /** `one.vm.info` reads a deploying VM answers in PROLOG, then in BOOT, before RUNNING (default 3 and 3: as many polls as real oned needs) */
    vmPrologReads?: number;
    vmBootReads?: number;
    /**
     * ms a VM driver operation takes (default 50): terminate of a running VM (LCM SHUTDOWN, then DONE
     * with its leases released), poweroff, undeploy, stop, suspend, resume from POWEROFF/SUSPENDED,
     * NIC hot-plug (LCM HOTPLUG_NIC).
     */
    vmActionMs?: number;
    /**
     * version string returned by one.system.version (default "6.10.0"). It also selects
     * version-dependent behaviour (measured on 6.10.5 and 7.0.2): hostname validation on host
     * allocate from 6.10.1; from 7.0 the `local`/`netapp` TM drivers, and no `vcenter` datastore or
     * network driver and no `ebtables` network driver.
     */
    version?: string;
}

/**
 * A fault to inject. Except `refuse` (which acts at once), faults wait in a queue; each request takes
 * the first queued fault whose `method` matches (any method when unset). `times` (default 1) is how
 * many requests the fault affects.
 */
export type Fault =
    /** Stop listening on the port (open connections are dropped) and listen on the same port again after `forMs`. */
    | { kind: "refuse"; forMs: number }
    /** Destroy the socket without a response; with `afterProcessing` the call is executed first ("may have reached the server"). */
    | { kind: "reset"; method?: string; times?: number; afterProcessing?: boolean }
    /** Execute the call, then hold the response back for `ms`. */
    | { kind: "delay"; ms: number; method?: string; times?: number }
    /** Answer with this HTTP status and a plain-text body; with `afterProcessing` the call is executed first. */
    | { kind: "http"; status: number; method?: string; times?: number; afterProcessing?: boolean }
    /** Answer with an XML-RPC `<fault>`; the call is not executed. */
    | { kind: "fault"; faultCode: number; faultString: string; method?: string; times?: number }
    /** Answer the `onCall`-th matching call (1-based; default the next) with an OpenNebula failure array `[method] message`; the call is not executed. */
    | { kind: "error"; code: number; message: string; method?: string; onCall?: number; times?: number };

/** A queued fault and how often it may still fire. */
interface QueuedFault {
    fault: Exclude<Fault, { kind: "refuse" }>;
    remaining: number;
    /** Matching calls let through so far (for `error` with `onCall`). */
    passed: number;
}

/** The kinds of object `objects()` reports. */
export type DoubleObjectKind =
    "cluster" | "host" | "datastore" | "vnet" | "vntemplate" | "image" | "vmtemplate" | "marketapp" | "vrouter" | "vm";

const DEFAULTS = {
    vnetCreateMs: 150,
    vnetDeleteMs: 150,
    hostMonitorMs: 100,
    imageReadyMs: 150,
    imageDeleteMs: 100,
    vmDeployMs: 150,
    vmPrologReads: 3,
    vmBootReads: 3,
    vmActionMs: 50,
    version: "6.10.0",
};
const HOST = "127.0.0.1";
/** How long oned keeps an idle keep-alive connection open. */
const IDLE_CONNECTION_MS = 15_000;

/** A running OpenNebula XML-RPC test double. */
export class OneDouble {
    /** The user every session must name. */
    readonly username = "oneadmin";
    /** Random per instance; the session string is `oneadmin:<password>`. */
    readonly password = randomBytes(12).toString("hex");

    private readonly world: World;
    private readonly methods = new MethodTable();
    private server: http.Server | undefined;
    private port = 0;
    private readonly sockets = new Set<Socket>();
    private faults: QueuedFault[] = [];
    private log: string[] = [];
    private refuseTimer: NodeJS.Timeout | undefined;
    private stopped = false;

    private constructor(options: DoubleOptions) {
        this.world = new World({ ...DEFAULTS, ...definedOnly(options) });
        seedClusters(this.world);
        seedDatastores(this.world);
        seedMarketApps(this.world);
        this.methods.define("one.system.version", () => this.world.options.version);
        registerClusterMethods(this.world, this.methods);
        registerHostMethods(this.world, this.methods);
        registerDatastoreMethods(this.world, this.methods);
        registerVnetMethods(this.world, this.methods);
        registerVnTemplateMethods(this.world, this.methods);
        registerImageMethods(this.world, this.methods);
        registerVmTemplateMethods(this.world, this.methods);
        registerMarketAppMethods(this.world, this.methods);
        registerVrouterMethods(this.world, this.methods);
        registerVmMethods(this.world, this.methods);
    }

    /**
     * Starts a double on 127.0.0.1 and a random free port.
     * @throws Error naming the option when an option is invalid (negative or non-finite ms, empty version).
     */
    static async start(options: DoubleOptions = {}): Promise<OneDouble> {
        validateOptions(options);
        const double = new OneDouble(options);
        await double.listen(0);
        return double;
    }

    /** `http://127.0.0.1:<port>/RPC2`. */
    get endpoint(): string {
        return `http://${HOST}:${this.port}/RPC2`;
    }

    /**
     * Injects a fault (see {@link Fault}). `refuse` acts immediately; the others are queued in order.
     * @throws Error naming the field when a number is out of range.
     */
    inject(fault: Fault): void {
        validateFault(fault);
        if (fault.kind === "refuse") {
            this.refuse(fault.forMs);
            return;
        }
        this.faults.push({ fault, remaining: fault.times ?? 1, passed: 0 });
    }

    /** Drops every queued fault (a running `refuse` window still ends on time). */
    clearFaults(): void {
        this.faults = [];
    }

    /** Requests received for `method` (or in total), faulted ones included. */
    calls(method?: string): number {
        return method === undefined ? this.log.length : this.log.filter((m) => m === method).length;
    }

    /** Method names in arrival order. */
    callLog(): string[] {
        return [...this.log];
    }

    /** Forgets the calls counted so far. */
    resetCounts(): void {
        this.log = [];
    }

    /**
     * Snapshot of every object the double holds, by pool; objects present at start-up (cluster 0,
     * datastores 0–2, marketplace apps 0–2) are `builtin`. VMs in DONE are left out: oned keeps them
     * (`one.vm.info` still answers) but they hold nothing any more.
     */
    objects(): { kind: DoubleObjectKind; id: number; name: string; builtin: boolean }[] {
        const live = { list: () => this.world.vms.list().filter((vm) => vm.state !== VmState.DONE) };
        const pools: [DoubleObjectKind, { list(): { id: number; name: string; builtin: boolean }[] }][] = [
            ["cluster", this.world.clusters],
            ["host", this.world.hosts],
            ["datastore", this.world.datastores],
            ["vnet", this.world.vnets],
            ["vntemplate", this.world.vntemplates],
            ["image", this.world.images],
            ["vmtemplate", this.world.vmtemplates],
            ["marketapp", this.world.marketapps],
            ["vrouter", this.world.vrouters],
            ["vm", live],
        ];
        return pools.flatMap(([kind, pool]) => pool.list().map(({ id, name, builtin }) => ({ kind, id, name, builtin })));
    }

    /**
     * Sets a host's STATE directly (e.g. 3 ERROR), as an out-of-band change would. The double's own
     * monitoring only ever moves hosts out of INIT, so a state set here stays until a call changes it.
     * @throws Error when there is no host `id`.
     */
    setHostState(id: number, state: number): void {
        const host = this.world.hosts.find(id);
        if (!host) throw new Error(`setHostState: the double has no host ${id}`);
        host.state = state;
    }

    /**
     * Makes the next `times` host monitorings fail, as real oned's first monitoring of a freshly
     * enabled host sometimes did (1 in 10 on 7.0.2): the host goes to ERROR with "Error monitoring
     * Host <name> (<id>): " and stays there until it is enabled again.
     * @throws Error when `times` is not a positive integer.
     */
    failHostMonitoring(times = 1): void {
        if (!Number.isInteger(times) || times < 1) throw new Error(`failHostMonitoring: times must be an integer >= 1, got ${times}`);
        this.world.hostMonitorFailures += times;
    }

    /** Stops listening, drops open connections and cancels pending state changes. */
    async stop(): Promise<void> {
        this.stopped = true;
        clearTimeout(this.refuseTimer);
        this.world.stopTimers();
        await this.closeServer();
    }

    // -----------------------------------------------------------------------------------------
    // HTTP

    private async listen(port: number): Promise<void> {
        const server = http.createServer((req, res) => {
            this.handle(req, res).catch((err: unknown) => reportBug(res, err));
        });
        // oned's Abyss server keeps an idle connection 15 s (reference: oned's defaults), not Node's 5 s:
        // a client that reuses a socket after 5 s would otherwise meet resets real oned does not send.
        server.keepAliveTimeout = IDLE_CONNECTION_MS;
        server.on("connection", (socket) => {
            this.sockets.add(socket);
            socket.on("close", () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, HOST, () => {
                server.off("error", reject);
                resolve();
            });
        });
        this.server = server;
        this.port = (server.address() as AddressInfo).port;
    }

    private closeServer(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        for (const socket of this.sockets) socket.destroy();
        if (!server) return Promise.resolve();
        return new Promise((resolve) => server.close(() => resolve()));
    }

    /** Closes the port now; listens on the same port again after `ms` (retrying briefly if the port is busy). */
    private refuse(ms: number): void {
        void this.closeServer();
        clearTimeout(this.refuseTimer);
        this.refuseTimer = setTimeout(() => void this.relisten(10), ms);
    }

    private async relisten(attemptsLeft: number): Promise<void> {
        if (this.stopped || this.server) return;
        try {
            await this.listen(this.port);
        } catch (err) {
            if (attemptsLeft > 1 && (err as NodeJS.ErrnoException).code === "EADDRINUSE") {
                this.refuseTimer = setTimeout(() => void this.relisten(attemptsLeft - 1), 20);
            } else {
                console.error(`OneDouble: cannot listen on port ${this.port} again after "refuse":`, err);
            }
        }
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const rejection = checkRequest(req);
        if (rejection) {
            req.resume();
            if (rejection.status === 405) res.setHeader("Allow", "POST");
            sendText(res, rejection.status, rejection.message);
            return;
        }
        const body = await readBody(req);
        let call: MethodCall;
        try {
            call = decodeMethodCall(body);
        } catch (err) {
            if (!(err instanceof WireError)) throw err;
            sendXml(res, encodeFault(FaultCode.PARSE, `Call XML not a proper XML-RPC call.  ${err.message}`));
            return;
        }
        this.log.push(call.method);
        if (call.params.some(holdsNonBmp)) {
            // xmlrpc-c refuses the whole call before oned sees it (measured on 6.10.5 and 7.0.2).
            sendXml(res, encodeFault(FaultCode.PARSE, "UTF-8 string contains a character not in the Basic Multilingual Plane"));
            return;
        }
        await this.respond(req, res, call, this.takeFault(call.method));
    }

    private execute(call: MethodCall): string {
        return dispatch(this.methods, this, call);
    }

    private async respond(
        req: http.IncomingMessage,
        res: http.ServerResponse,
        call: MethodCall,
        fault: QueuedFault["fault"] | undefined,
    ): Promise<void> {
        switch (fault?.kind) {
            case undefined:
                return sendXml(res, this.execute(call));
            case "reset":
                if (fault.afterProcessing) this.execute(call);
                req.socket.destroy();
                return;
            case "delay": {
                const response = this.execute(call);
                await new Promise<void>((resolve) => this.world.later(fault.ms, resolve));
                if (!res.destroyed) sendXml(res, response);
                return;
            }
            case "http":
                if (fault.afterProcessing) this.execute(call);
                return sendText(res, fault.status, http.STATUS_CODES[fault.status] ?? "Injected HTTP error");
            case "fault":
                return sendXml(res, encodeFault(fault.faultCode, fault.faultString));
            case "error":
                return sendXml(res, injectedFailure(call.method, fault.code, fault.message));
        }
    }

    /** The first queued fault matching `method`, consumed once; an `error` with `onCall` lets earlier matches through. */
    private takeFault(method: string): QueuedFault["fault"] | undefined {
        for (const [index, queued] of this.faults.entries()) {
            const { fault } = queued;
            if (fault.method !== undefined && fault.method !== method) continue;
            if (fault.kind === "error" && fault.onCall !== undefined && queued.passed < fault.onCall - 1) {
                queued.passed++;
                continue;
            }
            queued.remaining--;
            if (queued.remaining <= 0) this.faults.splice(index, 1);
            return fault;
        }
        return undefined;
    }
}

/** Whether a request value holds a character outside the Basic Multilingual Plane (U+10000 and above). */
function holdsNonBmp(value: RpcValue): boolean {
    switch (value.type) {
        case "string":
            return /[\u{10000}-\u{10FFFF}]/u.test(value.value);
        case "array":
            return value.items.some(holdsNonBmp);
        case "struct":
            return [...value.members.values()].some(holdsNonBmp);
        default:
            return false;
    }
}

/** xmlrpc-c's Abyss checks, in its order. */
function checkRequest(req: http.IncomingMessage): { status: number; message: string } | undefined {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/RPC2") return { status: 404, message: `This XML-RPC server responds to only one URI path ('/RPC2'), not '${path}'.` };
    if (req.method !== "POST") return { status: 405, message: "POST is the only HTTP method this server understands" };
    const contentType = req.headers["content-type"];
    if (contentType === undefined) return { status: 400, message: "You did not supply a content-type HTTP header" };
    if (contentType.split(";")[0].trim() !== "text/xml") {
        return { status: 400, message: `Your content-type HTTP header value '${contentType}' does not have a base type of 'text/xml'` };
    }
    if (req.headers["content-length"] === undefined) {
        return { status: 411, message: "You must send a content-length HTTP header in an XML-RPC call." };
    }
    return undefined;
}

/** A bug in the double itself: answer 500 and say so on stderr rather than crash the test process. */
function reportBug(res: http.ServerResponse, err: unknown): void {
    console.error("OneDouble internal error:", err);
    if (!res.headersSent && !res.destroyed) sendText(res, 500, `OneDouble internal error: ${(err as Error).message}`);
}

function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

function sendXml(res: http.ServerResponse, body: string): void {
    res.writeHead(200, {
        "Content-Type": "text/xml; charset=utf-8",
        "Content-Length": Buffer.byteLength(body),
        Server: "Xmlrpc-c_Abyss/1.40.0",
    });
    res.end(body);
}

function sendText(res: http.ServerResponse, status: number, message: string): void {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(message) });
    res.end(message);
}

function definedOnly(options: DoubleOptions): Partial<DoubleOptions> {
    return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

function validateOptions(options: DoubleOptions): void {
    for (const field of [
        "vnetCreateMs",
        "vnetDeleteMs",
        "hostMonitorMs",
        "imageReadyMs",
        "imageDeleteMs",
        "vmDeployMs",
        "vmActionMs",
    ] as const) {
        checkMs(options[field], `DoubleOptions.${field}`);
    }
    for (const field of ["vmPrologReads", "vmBootReads"] as const) {
        const reads = options[field];
        if (reads !== undefined && !(Number.isInteger(reads) && reads >= 0))
            throw new Error(`DoubleOptions.${field} must be an integer >= 0, got ${String(reads)}`);
    }
    if (options.version !== undefined && !/^\d+\.\d+(\.\d+)*$/.test(options.version)) {
        throw new Error(`DoubleOptions.version must look like "6.10.0", got "${options.version}"`);
    }
}

function validateFault(fault: Fault): void {
    const where = `Fault "${fault.kind}"`;
    if (fault.kind === "refuse") return checkMs(fault.forMs, `${where}.forMs`, true);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 1)) {
        throw new Error(`${where}.times must be an integer >= 1, got ${fault.times}`);
    }
    if (fault.kind === "delay") checkMs(fault.ms, `${where}.ms`, true);
    if (fault.kind === "http" && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
        throw new Error(`${where}.status must be an HTTP status 100-599, got ${fault.status}`);
    }
    if (fault.kind === "error" && fault.onCall !== undefined && !(Number.isInteger(fault.onCall) && fault.onCall >= 1)) {
        throw new Error(`${where}.onCall must be an integer >= 1 (1 = the next matching call), got ${fault.onCall}`);
    }
}

function checkMs(value: number | undefined, field: string, required = false): void {
    if (value === undefined && !required) return;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new Error(`${field} must be a number of milliseconds >= 0, got ${String(value)}`);
    }
}
