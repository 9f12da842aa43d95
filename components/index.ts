// Public API of pulumi-opennebula-edge. Each concern is also importable on its own subpath
// (e.g. "pulumi-opennebula-edge/opennebula").
export * as opennebula from "./opennebula";
