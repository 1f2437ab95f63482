// @kedge/spdy: SPDY/3.1 framing and header compression shared by cloudstream (the SPDY servers for
// port-forward and exec/attach) and edgestream (the SPDY client of the runtime's streaming server).
export * from './spdy-frames';
export { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary';
