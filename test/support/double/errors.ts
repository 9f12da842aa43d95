/**
 * The two ways oned says "no": an OpenNebula failure array (`[false, "[method] message", code,
 * objectId, 0]`) and an XML-RPC `<fault>` raised by the xmlrpc-c layer before OpenNebula runs.
 */

/** OpenNebula error codes (`include/Request.h`). */
export const ErrorCode = {
    AUTHENTICATION: 0x0100,
    AUTHORIZATION: 0x0200,
    NO_EXISTS: 0x0400,
    ACTION: 0x0800,
    XML_RPC_API: 0x1000,
    INTERNAL: 0x2000,
    ALLOCATE: 0x4000,
    LOCKED: 0x8000,
} as const;

/** xmlrpc-c fault codes used by the double. */
export const FaultCode = {
    /** Wrong parameter type or too few parameters (`fault::CODE_TYPE`). */
    TYPE: -501,
    /** The request body is not an XML-RPC call. */
    PARSE: -503,
    /** No method registered under that name. */
    NO_SUCH_METHOD: -506,
} as const;

/**
 * An OpenNebula failure. `message` is the text after the `[method] ` prefix, which the dispatcher adds.
 * `objectId` is the fourth element of the failure array (-1 unless the error is about one object).
 */
export class OneFailure extends Error {
    constructor(
        readonly code: number,
        message: string,
        readonly objectId = -1,
    ) {
        super(message);
        this.name = "OneFailure";
    }
}

/** An XML-RPC fault (`<fault>` with `faultCode`/`faultString`) instead of a response array. */
export class RpcFault extends Error {
    constructor(
        readonly faultCode: number,
        readonly faultString: string,
    ) {
        super(faultString);
        this.name = "RpcFault";
    }
}

/** `Error getting <object> [<id>].` with code NO_EXISTS and the id as object id, as `Request::failure_message` builds it. */
export function notFound(objectName: string, id: number): OneFailure {
    return new OneFailure(ErrorCode.NO_EXISTS, `Error getting ${objectName} [${id}].`, id);
}

/** An INTERNAL (8192) failure: allocation problems, template parse errors, driver errors. */
export function internal(message: string): OneFailure {
    return new OneFailure(ErrorCode.INTERNAL, message);
}

/** An ACTION (2048) failure: wrong state, non-empty delete, rename collision. */
export function action(message: string): OneFailure {
    return new OneFailure(ErrorCode.ACTION, message);
}

/**
 * A validation message from an object's own checks (`insert`, `post_update_template`, address
 * ranges). The request handler decides the code and any prefix ("Cannot update template. …").
 */
export class Invalid extends Error {
    constructor(message: string) {
        super(message);
        this.name = "Invalid";
    }
}
