/**
 * One call from decoded request to encoded response, in oned's order: unknown method → fault -506;
 * session string read (a fault if missing or not a string) and authenticated (AUTHENTICATION 256);
 * then the method body, whose OneFailure becomes a `[method] message` failure array and whose RpcFault
 * becomes a `<fault>`.
 */
import { ErrorCode, FaultCode, OneFailure, RpcFault } from "./errors";
import type { MethodTable } from "./methods";
import { Params } from "./params";
import type { MethodCall } from "./wire";
import { encodeFailure, encodeFault, encodeSuccess } from "./wire";

/** Who may call: the session string must be exactly `username:password`. */
export interface Credentials {
    username: string;
    password: string;
}

/** Executes `call` and returns the XML-RPC response body. */
export function dispatch(methods: MethodTable, credentials: Credentials, call: MethodCall): string {
    const handler = methods.get(call.method);
    if (!handler) return encodeFault(FaultCode.NO_SUCH_METHOD, `Method '${call.method}' not defined`);
    const params = new Params(call.params);
    try {
        const session = params.string(0);
        if (session !== `${credentials.username}:${credentials.password}`) {
            throw new OneFailure(ErrorCode.AUTHENTICATION, "User couldn't be authenticated, aborting call.");
        }
        return encodeSuccess(handler(params));
    } catch (err) {
        if (err instanceof RpcFault) return encodeFault(err.faultCode, err.faultString);
        if (err instanceof OneFailure) return encodeFailure(`[${call.method}] ${err.message}`, err.code, err.objectId);
        throw err;
    }
}

/** The response body of an injected OpenNebula error for `method`. */
export function injectedFailure(method: string, code: number, message: string): string {
    return encodeFailure(`[${method}] ${message}`, code, -1);
}
