// Public API of pulumi-opennebula-edge. Each concern is also importable on its own subpath
// ("pulumi-opennebula-edge/opennebula", "/edge", "/overlay", "/router", "/remote", "/validation").
// The cloud components live only on their own subpaths ("pulumi-opennebula-edge/clouds/aws" …) so
// that a user of one cloud never has to install the SDKs of the others; their shared contract is
// "pulumi-opennebula-edge/clouds/base".
export * as opennebula from "./opennebula";
export * as edge from "./edge";
export * as overlay from "./overlay";
export * as remote from "./remote";
export * as validation from "./validation";
export { EdgeCluster, EdgeClusterArgs, EdgeHost } from "./edge";
export { EvpnFabric, EvpnPrivateNetwork, WireGuardMesh } from "./overlay";
export * as router from "./router";
export { EdgeVirtualRouter } from "./router";
export { ConfigError } from "./validation";
export { Transform } from "./transform";
