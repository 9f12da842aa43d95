// @ts-check
// Lint for the whole tree (`npm run lint`, part of `npm test`). Formatting is prettier's (`npm run format`).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * What Pulumi's function serializer cannot carry. The OpenNebula layer's dynamic providers are
 * serialized with everything they reference and run in the engine's provider process, so code in
 * components/opennebula/ keeps to what survives that trip:
 * - no ES `#private` members (the serializer cannot carry private names);
 * - no class field initializers (dropped: set fields in the constructor);
 * - no new `class … extends Error` (`super(message)` initialises nothing once serialized: errors are
 *   plain `Error`s with properties; the existing classes in errors.ts and template.ts set `message`
 *   and `name` themselves and are told apart by name);
 * - no `instanceof` on the package's error classes (a serialized class is another class: use
 *   `errorName()` / `isOneError()`);
 * - no module-level instances (`new X()` at the top of a module: a live third-party object cannot be
 *   serialized; make one per call);
 * - no computed keys in destructuring patterns (the constant they name is not carried);
 * - nothing that captures Pulumi runtime state (`pulumi.runtime`, `pulumi.getStack()`, `new pulumi.Config()` …).
 * Each entry below is one of these; test/opennebula/serializer-lint.test.ts proves that each one fires.
 */
export const serializerRules = [
    {
        selector: "PrivateIdentifier",
        message: "No #private members here: Pulumi's function serializer cannot carry them into the dynamic provider (use `private`).",
    },
    {
        selector: "PropertyDefinition[value!=null]",
        message: "No class field initializers here: Pulumi's function serializer drops them (assign the field in the constructor).",
    },
    {
        selector: ":matches(ClassDeclaration, ClassExpression)[superClass.name=/Error$/]",
        message:
            "No new `class … extends Error` here: once serialized, `super(message)` initialises nothing (throw a plain Error with properties, as partialStateError() does).",
    },
    {
        selector: "BinaryExpression[operator='instanceof'][right.name=/.Error$/]",
        message:
            "No `instanceof` on the package's error classes here: a serialized class is another class (use errorName() or isOneError()).",
    },
    {
        selector:
            ":matches(Program, ExportNamedDeclaration) > VariableDeclaration > VariableDeclarator > NewExpression:not([callee.name=/^(Set|Map|RegExp|Error)$/])",
        message:
            "No module-level instances here: the dynamic providers are serialized with what they reference, and a live object cannot be (make one per call).",
    },
    {
        selector: "ObjectPattern > Property[computed=true]",
        message:
            "No computed keys in destructuring patterns here: the serializer does not carry the constant they name (filter the entries instead).",
    },
    {
        selector:
            "MemberExpression[object.name='pulumi'][property.name=/^(runtime|Config|getStack|getProject|getOrganization|getRootDirectory)$/]",
        message:
            "Nothing that captures Pulumi runtime state here: the dynamic provider runs in the engine's process, where the program's runtime is not.",
    },
];

export default tseslint.config(
    { ignores: ["dist/**", "**/node_modules/**", "examples/*/bin/**", ".lab/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
        rules: {
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
            ],
            "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
            // A variable read by a callback made before its one assignment (a timer cleared on an early answer) stays `let`.
            "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
            // Patterns match rendered configuration text, whose indentation is written out as it appears.
            "no-regex-spaces": "off",
            // Types imported apart from values: what a module needs at run time reads at a glance, and
            // import lists stay short enough for one line.
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
        },
    },
    { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs" }, rules: { "@typescript-eslint/no-require-imports": "off" } },
    // Tests hand components deliberately wrong values (`as any`) to prove their errors.
    { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
    { files: ["components/opennebula/**/*.ts"], rules: { "no-restricted-syntax": ["error", ...serializerRules] } },
    // The error classes written before the rule, which set `message` and `name` themselves (see above).
    {
        files: ["components/opennebula/errors.ts", "components/opennebula/template.ts"],
        rules: { "no-restricted-syntax": ["error", ...serializerRules.filter((rule) => !rule.selector.includes("superClass"))] },
    },
);
