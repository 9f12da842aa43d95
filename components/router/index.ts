// The virtual router with SDNAT: the argument checks and plan (pure) and the EdgeVirtualRouter
// component built on them. Re-exports only.
export * from "./plan";
export * from "./edge-virtual-router";
