/** Shared helpers of the lab tests (not a test file). */
import { Lab, LabOptions, labPrerequisiteProblems } from "../../scripts/lab/lab";

/** State directory of the lab tests, separate from the CLI's default. */
export const LAB_TEST_DIR = "/tmp/oneedge-lab-test";

/** Skips the suite (with the reason printed) when the lab cannot run here. */
export function skipUnlessLabCanRun(context: Mocha.Context): void {
    const problems = labPrerequisiteProblems();
    if (problems.length > 0) {
        console.log(`    (lab tests skipped: ${problems.join("; ")})`);
        context.skip();
    }
}

/** Brings a lab up for a suite; progress goes to stderr when LAB_VERBOSE is set. */
export function upLab(options: LabOptions = {}): Promise<Lab> {
    const log = process.env.LAB_VERBOSE ? (message: string) => console.error(`      lab: ${message}`) : undefined;
    return Lab.up({ dir: LAB_TEST_DIR, log, ...options });
}

/** Removes the lab; used by every `after` hook so nothing is left even when a test failed. */
export async function downLab(): Promise<void> {
    if (labPrerequisiteProblems().length === 0) {
        await Lab.down({ dir: LAB_TEST_DIR });
    }
}

/** Runs `check` for `durationMs`, every `intervalMs`, and fails on the first false. */
export async function holdsFor(what: string, check: () => Promise<boolean>, durationMs: number, intervalMs = 500): Promise<void> {
    const end = Date.now() + durationMs;
    let rounds = 0;
    while (Date.now() < end) {
        rounds += 1;
        if (!(await check())) {
            throw new Error(`${what} stopped holding in round ${rounds}`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}
