/**
 * Runs one measurement in a fresh node process, so that its time and memory figures are not
 * coloured by earlier measurements (heap left over, JIT state, Pulumi's global mock state).
 *
 * A benchmark module that can run as a child ends with
 *
 * ```ts
 * if (require.main === module) serveChild(measureSomething);
 * ```
 *
 * and the parent calls `runChild(__filename, spec)`: the spec travels as JSON in argv, the result
 * comes back as the last line of the child's standard output (JSON). Whatever else the child prints
 * (Pulumi's warnings, for instance) is kept only to explain a failure.
 */
import { execFile } from "node:child_process";

/** Options of {@link runChild}. */
export interface ChildOptions {
    /** Give up after this many ms. Default 600000 (10 min). */
    timeoutMs?: number;
}

/** Node flags of every child: `--expose-gc`, so that it can measure the heap it really retains. */
const NODE_FLAGS = ["--expose-gc"];

/**
 * Runs `modulePath` (a compiled benchmark module that calls {@link serveChild}) in a new node
 * process with `spec`, and returns what its measurement returned.
 *
 * @throws Error with the child's exit status and the end of its standard error when it fails.
 */
export function runChild<S, R>(modulePath: string, spec: S, options: ChildOptions = {}): Promise<R> {
    const args = [...NODE_FLAGS, modulePath, JSON.stringify(spec)];
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            args,
            { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 600_000 },
            (error, stdout, stderr) => {
                const lines = stdout.trim().split("\n");
                if (error) {
                    reject(
                        new Error(
                            `${modulePath} ${JSON.stringify(spec)} failed (${error.message.split("\n")[0]}): ${stderr.trim().split("\n").slice(-15).join("\n")}`,
                        ),
                    );
                    return;
                }
                try {
                    resolve(JSON.parse(lines[lines.length - 1]) as R);
                } catch {
                    reject(
                        new Error(
                            `${modulePath} ${JSON.stringify(spec)} printed no JSON result; its output ended with: ${lines.slice(-5).join("\n")}`,
                        ),
                    );
                }
            },
        );
    });
}

/**
 * The child's side: parses the spec from argv, runs `measure`, prints the result as one JSON line
 * and exits (Pulumi's mocks leave handles open that would keep the process alive).
 */
export function serveChild<S, R>(measure: (spec: S) => Promise<R>): void {
    const spec = JSON.parse(process.argv[2] ?? "{}") as S;
    measure(spec).then(
        (result) => {
            process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(0));
        },
        (error: unknown) => {
            console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
            process.exit(1);
        },
    );
}
