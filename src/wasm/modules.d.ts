/** `.wasm` files imported as compiled modules (workerd and bundlers for it). */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
