/**
 * Pulumi's own Node.js dynamic-provider host, started and driven the way the engine does it
 * (reference: shared/reference/pulumi-engine-protocol.md):
 *
 * - the `pulumi-resource-pulumi-nodejs` script from `@pulumi/pulumi` runs with the program directory
 *   (the repository root) as its working directory and an engine address as its only argument; its
 *   first line of stdout is the port it serves gRPC on;
 * - requests are built with the proto classes the SDK ships and properties travel as
 *   `google.protobuf.Struct`, so whatever a provider returns is converted exactly as in production;
 * - errors keep their gRPC shape (code, message, and the `ErrorResourceInitFailed` detail the host
 *   attaches for partial state);
 * - it is stopped by PID: the `sh` wrapper and its `node` child (the wrapper does not `exec`).
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as providerGrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import * as statusProto from "@pulumi/pulumi/proto/status_pb";

/** Properties as the engine exchanges them (a Struct converted to JavaScript). */
export type Properties = Record<string, unknown>;

/** The repository root: the program directory the engine would start the host in. */
export function programDirectory(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "package.json"))) return dir;
    }
    throw new Error(`no Pulumi.yaml above ${__dirname}`);
}

/** A failed RPC as the engine receives it. */
export class HostCallError extends Error {
    constructor(
        readonly method: string,
        readonly code: number,
        readonly details: string,
        /** The `ErrorResourceInitFailed` detail (partial state), when the host attached one. */
        readonly initFailed?: { id: string; properties: Properties; reasons: string[] },
    ) {
        super(`${method} failed with gRPC ${grpc.status[code] ?? code}: ${details}`);
        this.name = "HostCallError";
    }
}

/** Milliseconds each call took, by RPC method. */
export type CallTimes = Record<string, number[]>;

/** A running dynamic-provider host. */
export class ProviderHost {
    /** Everything the host wrote after its port (diagnostics the engine would show). */
    readonly diagnostics: string[] = [];
    /** Duration of every call, by method (Configure, Check …). */
    readonly times: CallTimes = {};

    private constructor(
        private readonly shell: childProcess.ChildProcess,
        private readonly client: providerGrpc.ResourceProviderClient,
        readonly port: number,
    ) {}

    /**
     * Starts the host with `env` added to this process's environment, and sends `Configure` as the
     * engine does first (`Handshake` is unimplemented by this host; the engine falls back).
     */
    static async start(env: Record<string, string> = {}): Promise<ProviderHost> {
        const cwd = programDirectory();
        const script = path.join(cwd, "node_modules", "@pulumi", "pulumi", "pulumi-resource-pulumi-nodejs");
        // Nothing listens at the engine address: this host never calls the engine back.
        const shell = childProcess.spawn("sh", [script, "127.0.0.1:1"], {
            cwd,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const diagnostics: string[] = [];
        let port: number;
        try {
            port = await firstLinePort(shell, diagnostics);
        } catch (err) {
            await stopProcessTree(shell);
            throw err;
        }
        const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        const host = new ProviderHost(shell, client, port);
        host.diagnostics.push(...diagnostics);
        shell.stdout?.on("data", (chunk: Buffer) => host.diagnostics.push(String(chunk)));
        shell.stderr?.on("data", (chunk: Buffer) => host.diagnostics.push(String(chunk)));
        const configure = new proto.ConfigureRequest();
        configure.setArgs(Struct.fromJavaScript({}));
        configure.setAcceptsecrets(true);
        configure.setAcceptresources(true);
        const answer = await host.rpc<proto.ConfigureResponse>("configure", configure);
        if (answer.getAcceptsecrets())
            throw new Error("the host accepts secrets: the engine would send them wrapped, and this suite strips them");
        return host;
    }

    /** Stops the `sh` wrapper and its `node` child by PID, waiting for both to exit. */
    async stop(): Promise<void> {
        this.client.close();
        await stopProcessTree(this.shell);
    }

    async check(
        urn: string,
        olds: Properties,
        news: Properties,
    ): Promise<{ inputs: Properties; failures: { property: string; reason: string }[] }> {
        const request = addressed(new proto.CheckRequest(), urn).setOlds(struct(olds)).setNews(struct(news));
        const response = await this.rpc<proto.CheckResponse>("check", request);
        return {
            inputs: response.getInputs()?.toJavaScript() ?? {},
            failures: response.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    async diff(urn: string, id: string, olds: Properties, news: Properties, oldInputs: Properties): Promise<EngineDiff> {
        const request = addressed(new proto.DiffRequest(), urn)
            .setId(id)
            .setOlds(struct(olds))
            .setNews(struct(news))
            .setOldInputs(struct(oldInputs));
        const response = await this.rpc<proto.DiffResponse>("diff", request);
        const changes = response.getChanges();
        return {
            changes:
                changes === proto.DiffResponse.DiffChanges.DIFF_SOME
                    ? "some"
                    : changes === proto.DiffResponse.DiffChanges.DIFF_NONE
                      ? "none"
                      : "unknown",
            replaces: response.getReplacesList(),
            deleteBeforeReplace: response.getDeletebeforereplace(),
        };
    }

    async create(urn: string, properties: Properties): Promise<{ id: string; properties: Properties }> {
        const response = await this.rpc<proto.CreateResponse>(
            "create",
            addressed(new proto.CreateRequest(), urn).setProperties(struct(properties)),
        );
        return { id: response.getId(), properties: response.getProperties()?.toJavaScript() ?? {} };
    }

    async read(
        urn: string,
        id: string,
        properties: Properties,
        inputs: Properties,
    ): Promise<{ id: string; properties: Properties; inputs?: Properties }> {
        const request = addressed(new proto.ReadRequest(), urn).setId(id).setProperties(struct(properties)).setInputs(struct(inputs));
        const response = await this.rpc<proto.ReadResponse>("read", request);
        return {
            id: response.getId(),
            properties: response.getProperties()?.toJavaScript() ?? {},
            inputs: response.getInputs()?.toJavaScript(),
        };
    }

    async update(urn: string, id: string, olds: Properties, news: Properties, oldInputs: Properties): Promise<Properties> {
        const request = addressed(new proto.UpdateRequest(), urn)
            .setId(id)
            .setOlds(struct(olds))
            .setNews(struct(news))
            .setOldInputs(struct(oldInputs));
        const response = await this.rpc<proto.UpdateResponse>("update", request);
        return response.getProperties()?.toJavaScript() ?? {};
    }

    async delete(urn: string, id: string, properties: Properties, oldInputs: Properties): Promise<void> {
        await this.rpc(
            "delete",
            addressed(new proto.DeleteRequest(), urn).setId(id).setProperties(struct(properties)).setOldInputs(struct(oldInputs)),
        );
    }

    /**
     * One unary call, timed, with a failure turned into a {@link HostCallError}. A call that gets no
     * answer within 90 s fails with DEADLINE_EXCEEDED rather than hanging the suite (the host never
     * answers when its reply does not fit the HTTP/2 limits, e.g. partial state over 64 KiB).
     */
    private rpc<T>(method: string, request: unknown): Promise<T> {
        const started = process.hrtime.bigint();
        return new Promise<T>((resolve, reject) => {
            type Unary = (
                req: unknown,
                metadata: grpc.Metadata,
                options: grpc.CallOptions,
                cb: (err: grpc.ServiceError | null, res: T) => void,
            ) => void;
            const invoke = (this.client as unknown as Record<string, Unary>)[method];
            invoke.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + 90_000 }, (err, response) => {
                (this.times[method] ??= []).push(Number(process.hrtime.bigint() - started) / 1e6);
                if (err) reject(toHostCallError(method, err));
                else resolve(response);
            });
        });
    }
}

/** What the engine reads from a DiffResponse. */
export interface EngineDiff {
    changes: "some" | "none" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

/** A request with the resource's URN, name and type set, as the engine sends them. */
function addressed<R extends { setUrn(v: string): R; setName(v: string): R; setType(v: string): R }>(request: R, urn: string): R {
    return request
        .setUrn(urn)
        .setName(urn.split("::").pop() ?? "")
        .setType(urn.split("::")[2] ?? "");
}

function struct(properties: Properties): Struct {
    return Struct.fromJavaScript(properties as never);
}

/** The port printed on the host's first line of stdout. */
function firstLinePort(shell: childProcess.ChildProcess, diagnostics: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
        let buffered = "";
        const timer = setTimeout(
            () => reject(new Error(`the provider host printed no port within 30 s:\n${diagnostics.join("")}`)),
            30_000,
        );
        const onData = (chunk: Buffer) => {
            buffered += String(chunk);
            const newline = buffered.indexOf("\n");
            if (newline < 0) return;
            clearTimeout(timer);
            shell.stdout?.off("data", onData);
            const line = buffered.slice(0, newline).trim();
            if (buffered.length > newline + 1) diagnostics.push(buffered.slice(newline + 1));
            const port = Number(line);
            if (Number.isInteger(port) && port > 0) resolve(port);
            else reject(new Error(`the provider host's first line is not a port: ${JSON.stringify(line)}\n${diagnostics.join("")}`));
        };
        shell.stdout?.on("data", onData);
        shell.stderr?.on("data", (chunk: Buffer) => diagnostics.push(String(chunk)));
        shell.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the provider host exited (${code}) before printing its port:\n${diagnostics.join("")}`));
        });
    });
}

/** PIDs of a process's children, from /proc (the `node` under the `sh` wrapper). */
function childPids(pid: number): number[] {
    try {
        return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** SIGINT to the wrapper's `node` child and the wrapper (as the engine does), SIGKILL after 5 s. */
async function stopProcessTree(shell: childProcess.ChildProcess): Promise<void> {
    const pid = shell.pid;
    if (pid === undefined) return;
    const pids = [...childPids(pid), pid];
    for (const p of pids) {
        try {
            process.kill(p, "SIGINT");
        } catch {
            // already gone
        }
    }
    for (const deadline = Date.now() + 5_000; pids.some(isAlive) && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const p of pids.filter(isAlive)) process.kill(p, "SIGKILL");
}

/** A gRPC error as the engine decodes it, with the `ErrorResourceInitFailed` detail when present. */
function toHostCallError(method: string, err: grpc.ServiceError): HostCallError {
    const [detailsBin] = err.metadata?.get("grpc-status-details-bin") ?? [];
    let initFailed: HostCallError["initFailed"];
    if (detailsBin !== undefined) {
        const status = statusProto.Status.deserializeBinary(new Uint8Array(detailsBin as Buffer));
        for (const detail of status.getDetailsList()) {
            if (detail.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
            const failed = proto.ErrorResourceInitFailed.deserializeBinary(detail.getValue_asU8());
            initFailed = { id: failed.getId(), properties: failed.getProperties()?.toJavaScript() ?? {}, reasons: failed.getReasonsList() };
        }
    }
    return new HostCallError(method, err.code, err.details, initFailed);
}
