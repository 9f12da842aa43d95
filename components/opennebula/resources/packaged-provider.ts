/**
 * The dynamic provider the resource classes register: a stand-in of a few lines that, when the
 * engine runs it, loads the package's own provider of the type by the package's name.
 *
 * Pulumi's function serializer carries a module that lives in `node_modules` as a `require` of it,
 * but code outside `node_modules` by value: the stack program of this repository gave every
 * OpenNebula object 96–160 KB of `__provider` text, which travels in every request and in state and
 * is too large for the gRPC trailer that partial state travels in. This stand-in captures two
 * strings. The provider host runs in the program's directory, and from there the package resolves
 * by name: the installed copy in `node_modules`, or, when the program is this repository's own,
 * the package itself (Node resolves a package's own name through its `exports`).
 */
import type * as pulumi from "@pulumi/pulumi";

/** The package's name and the entry point whose `dynamicProviderOf` gives every type's provider. */
export const PROVIDERS_ENTRY = "pulumi-opennebula-edge/opennebula";

/**
 * The provider of `type` (e.g. `"Host"`) that loads the real one from {@link PROVIDERS_ENTRY}
 * when a method is called. It must stay self-contained: the serializer carries its text and the
 * two strings it captures, nothing else.
 */
export function packagedProvider(type: string): pulumi.dynamic.ResourceProvider {
    const entry = PROVIDERS_ENTRY;
    const load = (): Required<pulumi.dynamic.ResourceProvider> => {
        const directory = process.cwd();
        // A require inside the function: the serializer must capture nothing but the two strings.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fromProgram = require("module").createRequire(require("path").join(directory, "package.json"));
        let providers: { dynamicProviderOf(type: string): Required<pulumi.dynamic.ResourceProvider> };
        try {
            providers = fromProgram(entry);
        } catch (err) {
            throw new Error(
                `the OpenNebula ${type} provider could not load ${entry} from the program's directory ${directory} ` +
                    `(${(err as Error).message}); install pulumi-opennebula-edge there, or build it (npm run build) when the program is the package's own`,
            );
        }
        return providers.dynamicProviderOf(type);
    };
    // async: a failure to load rejects the call, as the provider's own failures do.
    return {
        check: async (olds, news) => load().check(olds, news),
        diff: async (id, olds, news) => load().diff(id, olds, news),
        create: async (inputs) => load().create(inputs),
        read: async (id, props) => load().read(id, props),
        update: async (id, olds, news) => load().update(id, olds, news),
        delete: async (id, props) => load().delete(id, props),
    };
}
