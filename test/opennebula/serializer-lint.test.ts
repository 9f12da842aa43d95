/**
 * The lint rules that keep the OpenNebula layer serializable (`serializerRules` in
 * eslint.config.mjs): each one fires on a small bad snippet linted as a file of
 * components/opennebula/resources/, none fires on the same intent written the allowed way or
 * outside the layer, and the real folder is clean.
 */
import * as assert from "assert";
import * as path from "path";
import { ESLint } from "eslint";

const repo = path.resolve(__dirname, "../../..");
const INSIDE = path.join(repo, "components/opennebula/resources/lint-probe.ts");
const OUTSIDE = path.join(repo, "components/edge/lint-probe.ts");

/** One snippet per rule, and the words its message must contain. */
const BAD: { rule: string; code: string; says: RegExp }[] = [
    {
        rule: "a #private member",
        code: "export class C { #secret: string; constructor() { this.#secret = 'x'; } get s() { return this.#secret; } }",
        says: /No #private members/,
    },
    { rule: "a field initializer", code: "export class C { list: string[] = []; }", says: /No class field initializers/ },
    { rule: "a static field initializer", code: "export class C { static count = 0; }", says: /No class field initializers/ },
    { rule: "a class extending Error", code: "export class BadInput extends Error {}", says: /No new `class … extends Error`/ },
    {
        rule: "a class expression extending a package error",
        code: "export const E = class extends OneError {};\ndeclare class OneError extends Object {}",
        says: /No new `class … extends Error`/,
    },
    {
        rule: "an instanceof on a package error",
        code: "declare class OneNotFoundError {}\nexport const gone = (err: unknown) => err instanceof OneNotFoundError;",
        says: /No `instanceof` on the package's error classes/,
    },
    {
        rule: "a module-level instance",
        code: "declare class XMLParser {}\nconst parser = new XMLParser();\nexport const parse = () => parser;",
        says: /No module-level instances/,
    },
    {
        rule: "an exported module-level instance",
        code: "import * as http from 'http';\nexport const agent = new http.Agent();",
        says: /No module-level instances/,
    },
    {
        rule: "a computed destructuring key",
        code: "const KEY = '__provider';\nexport const rest = (o: Record<string, unknown>) => { const { [KEY]: _p, ...others } = o; return others; };",
        says: /No computed keys in destructuring/,
    },
    {
        rule: "a read of Pulumi runtime state",
        code: "import * as pulumi from '@pulumi/pulumi';\nexport const stack = () => pulumi.getStack();",
        says: /Nothing that captures Pulumi runtime state/,
    },
    {
        rule: "a Pulumi Config",
        code: "import * as pulumi from '@pulumi/pulumi';\nexport const config = () => new pulumi.Config('one');",
        says: /Nothing that captures Pulumi runtime state/,
    },
];

/** The same intents, written as the layer writes them. */
const ALLOWED = [
    "export class C { private readonly list: string[]; constructor() { this.list = []; } get size() { return this.list.length; } }",
    "export function failure(message: string, id: string) { const err = new Error(message) as Error & { id: string }; err.id = id; return err; }",
    "export const gone = (err: unknown) => err instanceof Error && err.name === 'OneNotFoundError';",
    "declare class XMLParser {}\nexport const newParser = () => new XMLParser();\nconst SEEN = new Set<string>();\nexport const seen = (s: string) => SEEN.has(s);",
    "const KEY = '__provider';\nexport const rest = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== KEY));",
];

function serializerMessages(results: ESLint.LintResult[]): string[] {
    return results.flatMap((result) => result.messages.filter((m) => m.ruleId === "no-restricted-syntax").map((m) => m.message));
}

describe("lint: what Pulumi's function serializer cannot carry (components/opennebula)", function () {
    this.timeout(120_000);
    const eslint = new ESLint({ cwd: repo });

    for (const bad of BAD) {
        it(`reports ${bad.rule}`, async () => {
            const messages = serializerMessages(await eslint.lintText(bad.code, { filePath: INSIDE }));
            assert.ok(
                messages.some((message) => bad.says.test(message)),
                `expected ${bad.says} for:\n${bad.code}\ngot: ${JSON.stringify(messages)}`,
            );
        });

        it(`leaves ${bad.rule} alone outside the OpenNebula layer`, async () => {
            assert.deepStrictEqual(serializerMessages(await eslint.lintText(bad.code, { filePath: OUTSIDE })), []);
        });
    }

    it("reports nothing for the same intents written the serializable way", async () => {
        for (const code of ALLOWED) {
            assert.deepStrictEqual(serializerMessages(await eslint.lintText(code, { filePath: INSIDE })), [], code);
        }
    });

    it("keeps the existing error classes of errors.ts to every other rule", async () => {
        const file = path.join(repo, "components/opennebula/errors.ts");
        assert.deepStrictEqual(
            serializerMessages(await eslint.lintText("export class OneProbeError extends Error {}", { filePath: file })),
            [],
        );
        const messages = serializerMessages(await eslint.lintText("export class C { list: string[] = []; }", { filePath: file }));
        assert.ok(
            messages.some((message) => /No class field initializers/.test(message)),
            JSON.stringify(messages),
        );
    });

    it("finds the real components/opennebula clean", async () => {
        const results = await eslint.lintFiles(["components/opennebula"]);
        assert.ok(results.length >= 20, `linted ${results.length} files`);
        const problems = results.flatMap((result) =>
            result.messages.map((m) => `${path.relative(repo, result.filePath)}:${m.line} ${m.ruleId}: ${m.message}`),
        );
        assert.deepStrictEqual(problems, []);
    });
});
