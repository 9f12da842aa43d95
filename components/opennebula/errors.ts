/**
 * Typed errors for calls to OpenNebula's XML-RPC API.
 *
 * OpenNebula reports a failed call as the array `[false, message, code, objectId, raftIndex]`;
 * {@link oneErrorFromFailure} turns that array into the subclass matching `code`. Faults from the
 * XML-RPC layer, transport failures and unreadable responses have their own classes.
 *
 * The classes are written so that they survive Pulumi's function serializer, which carries the
 * dynamic providers into the engine's provider process: every constructor sets `message` and
 * `name` itself (the serializer turns `super(message)` on Error into a call that initialises
 * nothing), and code inside the providers tells errors apart with {@link errorName} and
 * {@link isOneError}, not with `instanceof` on a base class.
 *
 * No error built here ever contains the session string (`username:password`): messages are made
 * only from the method name, numeric ids and the server's own text, and the client scrubs the
 * password from server text before it gets here (see {@link redactSecrets}).
 */
import type { XmlRpcValue } from "./xmlrpc";

/** OpenNebula's error codes (`include/Request.h`). */
export const OneErrorCode = {
    AUTHENTICATION: 0x0100,
    AUTHORIZATION: 0x0200,
    NO_EXISTS: 0x0400,
    ACTION: 0x0800,
    XML_RPC_API: 0x1000,
    INTERNAL: 0x2000,
    ALLOCATE: 0x4000,
    LOCKED: 0x8000,
    REPLICATION: 0x10000,
} as const;

/** The code's name as in `include/Request.h` (NO_EXISTS …), kept in every message so the kind survives the trip to the engine. */
function codeName(code: number): string {
    return Object.entries(OneErrorCode).find(([, value]) => value === code)?.[0] ?? "ERROR";
}

/** Object kind per method namespace (`one.<namespace>.<action>`), as used in messages. */
const OBJECT_KINDS: Record<string, string> = {
    cluster: "cluster",
    vn: "virtual network",
    vntemplate: "virtual network template",
    host: "host",
    datastore: "datastore",
    vrouter: "virtual router",
    image: "image",
    template: "VM template",
    marketapp: "marketplace app",
    vm: "virtual machine",
};

/** What is known about a failed OpenNebula call; the input of {@link OneError}'s constructor. */
export interface OneErrorDetails {
    /** OpenNebula error code, e.g. 1024. */
    code: number;
    /** XML-RPC method, e.g. `one.cluster.info`. */
    method: string;
    /** Id of the object the call was about, when the call names one. */
    objectId?: number;
    /** The server's message without its `[method] ` prefix. */
    serverMessage: string;
    /** Element 3 of the failure array: the id of the object that caused the error (often -1). */
    failedObjectId: number;
    /** How many times the call was sent; mentioned in the message when more than 1. Default 1. */
    attempts?: number;
}

/** A call that OpenNebula answered with a failure array. Subclasses identify the error code. */
export class OneError extends Error {
    /** OpenNebula error code, e.g. 1024 for "not found". */
    readonly code: number;
    /** XML-RPC method, e.g. `one.cluster.info`. */
    readonly method: string;
    /** Id of the object the call was about (the first argument after the session), when numeric. */
    readonly objectId?: number;
    /** The server's own message, without the `[method] ` prefix. */
    readonly serverMessage: string;
    /** Element 3 of the failure array: the object that caused the error (-1 when none). */
    readonly failedObjectId: number;
    /** How many times the call was sent before this answer. */
    readonly attempts: number;

    /**
     * @param details what OpenNebula answered
     * @param name    the subclass's name (set explicitly: serialized classes lose `new.target.name`)
     */
    constructor(details: OneErrorDetails, name = "OneError") {
        const message = describeFailure(details);
        super(message);
        this.message = message;
        this.name = name;
        this.code = details.code;
        this.method = details.method;
        this.objectId = details.objectId;
        this.serverMessage = details.serverMessage;
        this.failedObjectId = details.failedObjectId;
        this.attempts = details.attempts ?? 1;
    }
}

/** Code 256: the session (`username:password`) was not accepted. */
export class OneAuthenticationError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneAuthenticationError");
    }
}
/** Code 512: the user may not perform this action (ACLs). */
export class OneAuthorizationError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneAuthorizationError");
    }
}
/** Code 1024: an object named by the call (or the pool) does not exist. */
export class OneNotFoundError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneNotFoundError");
    }
}
/** Code 2048: the object is in a state that does not allow the action (e.g. non-empty cluster). */
export class OneActionError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneActionError");
    }
}
/** Code 4096: an argument value is invalid (e.g. update type). */
export class OneApiError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneApiError");
    }
}
/** Code 8192: internal error; also what allocate returns for name collisions and template errors. */
export class OneInternalError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneInternalError");
    }
}
/** Code 16384: the pool could not allocate the object. */
export class OneAllocateError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneAllocateError");
    }
}
/** Code 32768: the object is locked. */
export class OneLockedError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneLockedError");
    }
}
/** Code 65536: the HA (RAFT) log entry could not be replicated. */
export class OneReplicationError extends OneError {
    constructor(details: OneErrorDetails) {
        super(details, "OneReplicationError");
    }
}

const SUBCLASS_BY_CODE: Record<number, new (details: OneErrorDetails) => OneError> = {
    [OneErrorCode.AUTHENTICATION]: OneAuthenticationError,
    [OneErrorCode.AUTHORIZATION]: OneAuthorizationError,
    [OneErrorCode.NO_EXISTS]: OneNotFoundError,
    [OneErrorCode.ACTION]: OneActionError,
    [OneErrorCode.XML_RPC_API]: OneApiError,
    [OneErrorCode.INTERNAL]: OneInternalError,
    [OneErrorCode.ALLOCATE]: OneAllocateError,
    [OneErrorCode.LOCKED]: OneLockedError,
    [OneErrorCode.REPLICATION]: OneReplicationError,
};

/** A standard XML-RPC `<fault>` (e.g. -506 unknown method, -501 wrong parameter type). */
export class OneFaultError extends Error {
    /** XML-RPC method that was called. */
    readonly method: string;
    /** The fault's `faultCode`. */
    readonly faultCode: number;
    /** The fault's `faultString` (password removed). */
    readonly faultString: string;
    /** How many times the call was sent before this answer. */
    readonly attempts: number;

    constructor(method: string, faultCode: number, faultString: string, attempts = 1) {
        const message = `[${method}] XML-RPC fault ${faultCode}: ${faultString}${attemptsSuffix(attempts)}`;
        super(message);
        this.message = message;
        this.name = "OneFaultError";
        this.method = method;
        this.faultCode = faultCode;
        this.faultString = faultString;
        this.attempts = attempts;
    }
}

/** Why a call did not get an XML-RPC answer. */
export type TransportFailureReason = "refused" | "reset" | "timeout" | "http" | "other";

/** What is known about a transport failure; the input of {@link OneTransportError}'s constructor. */
export interface TransportFailureDetails {
    method: string;
    /** Endpoint URL (never with credentials). */
    endpoint: string;
    reason: TransportFailureReason;
    /** HTTP status, for `reason: "http"`. */
    httpStatus?: number;
    /** Whether trying again may help (refused, reset, timeout, HTTP 5xx). */
    transient: boolean;
    /** False only when the request certainly never reached the server (e.g. connection refused). */
    mayHaveReachedServer: boolean;
    /** Short description of the low-level problem, e.g. `connect ECONNREFUSED 127.0.0.1:2633`. */
    detail: string;
    /** How many times the call was sent. Default 1. */
    attempts?: number;
    /** The underlying error, if any. */
    cause?: unknown;
}

/** The call got no XML-RPC answer: connection refused or reset, timeout, or an HTTP error status. */
export class OneTransportError extends Error {
    readonly method: string;
    /** Endpoint URL (never with credentials). */
    readonly endpoint: string;
    readonly reason: TransportFailureReason;
    /** HTTP status, for `reason: "http"`. */
    readonly httpStatus?: number;
    /** Whether trying again may help. */
    readonly transient: boolean;
    /** False only when the request certainly never reached the server. */
    readonly mayHaveReachedServer: boolean;
    /** Short description of the low-level problem. */
    readonly detail: string;
    /** How many times the call was sent. */
    readonly attempts: number;

    /**
     * @param details what went wrong
     * @param hint    advice appended to the message, e.g. which method to use instead
     */
    constructor(details: TransportFailureDetails, hint = "") {
        const attempts = details.attempts ?? 1;
        const message =
            `[${details.method}] transport failure (${details.reason}) to ${details.endpoint}: ${details.detail}` +
            `${attemptsSuffix(attempts)}${hint ? `. ${hint}` : ""}`;
        super(message, details.cause === undefined ? undefined : { cause: details.cause });
        this.message = message;
        this.name = "OneTransportError";
        this.method = details.method;
        this.endpoint = details.endpoint;
        this.reason = details.reason;
        this.httpStatus = details.httpStatus;
        this.transient = details.transient;
        this.mayHaveReachedServer = details.mayHaveReachedServer;
        this.detail = details.detail;
        this.attempts = attempts;
    }

    /** The same failure, counted after `attempts` attempts, optionally with a hint appended. */
    withAttempts(attempts: number, hint = ""): OneTransportError {
        const details: TransportFailureDetails = {
            method: this.method,
            endpoint: this.endpoint,
            reason: this.reason,
            httpStatus: this.httpStatus,
            transient: this.transient,
            mayHaveReachedServer: this.mayHaveReachedServer,
            detail: this.detail,
            attempts,
            cause: this.cause,
        };
        return new OneTransportError(details, hint);
    }
}

/** The response was not a well-formed XML-RPC method response. */
export class XmlRpcProtocolError extends Error {
    /** XML-RPC method whose response was unreadable, when known. */
    readonly method?: string;

    constructor(message: string, method?: string) {
        const text = method ? `[${method}] invalid XML-RPC response: ${message}` : message;
        super(text);
        this.message = text;
        this.name = "XmlRpcProtocolError";
        this.method = method;
    }
}

/** The error's class name (`OneNotFoundError`, `OneTransportError` …), also for serialized classes. */
export function errorName(err: unknown): string | undefined {
    return typeof err === "object" && err !== null && typeof (err as { name?: unknown }).name === "string"
        ? (err as { name: string }).name
        : undefined;
}

/** Whether `err` is a {@link OneTransportError} (by name, so that it works after serialization too). */
export function isTransportError(err: unknown): err is OneTransportError {
    return errorName(err) === "OneTransportError";
}

/** Whether `err` is an OpenNebula failure ({@link OneError}), optionally with the given code. */
export function isOneError(err: unknown, code?: number): err is OneError {
    const candidate = err as Partial<OneError> | undefined;
    return (
        typeof candidate?.code === "number" &&
        typeof candidate.serverMessage === "string" &&
        (code === undefined || candidate.code === code)
    );
}

/**
 * Builds the typed error for an OpenNebula failure array `[false, message, code, objectId, raftIndex]`
 * (3- and 4-element arrays are accepted too).
 *
 * @param method  the XML-RPC method, e.g. `one.cluster.info`
 * @param params  the call's arguments WITHOUT the session string; `params[0]` names the object
 *                when it is a number
 * @param failure the failure array as decoded
 * @param attempts how many times the call was sent (default 1)
 */
export function oneErrorFromFailure(
    method: string,
    params: readonly XmlRpcValue[],
    failure: readonly XmlRpcValue[],
    attempts = 1,
): OneError {
    const code = typeof failure[2] === "number" ? failure[2] : 0;
    const details: OneErrorDetails = {
        code,
        method,
        objectId: objectIdOf(method, params),
        serverMessage: stripMethodPrefix(typeof failure[1] === "string" ? failure[1] : String(failure[1] ?? "")),
        failedObjectId: typeof failure[3] === "number" ? failure[3] : -1,
        attempts,
    };
    const Subclass = SUBCLASS_BY_CODE[code] ?? OneError;
    return new Subclass(details);
}

/** The kind of object a method works on, e.g. `virtual network` for `one.vn.add_ar`; undefined if unknown. */
export function objectKindOf(method: string): string | undefined {
    const [prefix, namespace] = method.split(".");
    return prefix === "one" && namespace !== undefined && Object.hasOwn(OBJECT_KINDS, namespace) ? OBJECT_KINDS[namespace] : undefined;
}

/**
 * Replaces every occurrence of the given secrets in `text` with `***`. Empty secrets are ignored.
 * Longer secrets are replaced first so that a password inside the session string is not half-hidden.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
    const ordered = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
    return ordered.reduce((result, secret) => result.split(secret).join("***"), text);
}

function objectIdOf(method: string, params: readonly XmlRpcValue[]): number | undefined {
    const first = params[0];
    return objectKindOf(method) !== undefined && typeof first === "number" && Number.isInteger(first) ? first : undefined;
}

function stripMethodPrefix(message: string): string {
    return message.replace(/^\[[\w.]+\]\s*/, "");
}

/** `[one.vn.allocate] NO_EXISTS (1024): Error getting cluster [999].`, with ` on <object> <id>` when the call names one. */
function describeFailure(d: OneErrorDetails): string {
    const kind = objectKindOf(d.method);
    const subject = kind !== undefined && d.objectId !== undefined ? ` on ${kind} ${d.objectId}` : "";
    return `[${d.method}] ${codeName(d.code)} (${d.code})${subject}: ${d.serverMessage}${attemptsSuffix(d.attempts ?? 1)}`;
}

function attemptsSuffix(attempts: number): string {
    return attempts > 1 ? ` (after ${attempts} attempts)` : "";
}
