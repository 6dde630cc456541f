// A pickle reader that never runs anything: it understands the opcodes of
// protocols 2 to 5 that PyTorch and Python emit for data, and resolves a
// global only through the caller's allowlist (`findGlobal`), the way
// torch.load(weights_only=True) does. Python values become plain JS:
// None → null, int → number (bigint beyond 2^53), float → number, str →
// string, bytes and bytearray → Uint8Array, list/tuple → array, dict → object.
import { isIntKey, markIntKey } from '../core/python-values';

/** What a GLOBAL resolves to: a function REDUCE may call, or a marker value. */
export type PickleGlobal = ((...args: unknown[]) => unknown) | { readonly global: string };

export interface UnpickleHooks {
  /** Resolves `module.name` or throws (the allowlist). */
  findGlobal(module: string, name: string): PickleGlobal;
  /** Resolves a persistent id (PyTorch's storages). */
  persistentLoad(pid: unknown): unknown;
  /** Applies BUILD `state` to `target` (e.g. an OrderedDict's `_metadata`). */
  build(target: unknown, state: unknown): void;
  /** Reports an unpickling problem; must throw. */
  fail(detail: string): never;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** The allowed callables take at most 7 arguments; far more is a damaged or hostile file. */
const MAX_CALL_ARGS = 16;

/** Whether `value` is a dict the unpickler made (so SETITEM may add to it). */
export const DICT = Symbol('pickle dict');

/** A fresh dict object; key order is kept (integer-like keys follow JS rules). */
export function newDict(): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  Object.defineProperty(dict, DICT, { value: true });
  return dict;
}

export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const { fail } = hooks;
  let at = 0;

  const need = (n: number): number => {
    if (at + n > bytes.length) fail(`pickle data ends early (at byte ${at}, needs ${n} more)`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > MAX_SAFE) fail(`a pickle length is out of range (${v})`);
    return Number(v);
  };
  const str = (n: number, decoder = text): string => {
    const start = need(n);
    try {
      return decoder.decode(bytes.subarray(start, start + n));
    } catch {
      return fail(`pickle holds a string that is not valid UTF-8 at byte ${start}`);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('pickle data ends inside a text line');
    return str(end - at + 1, latin1).slice(0, -1);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const start = marks.pop();
    if (start === undefined) fail('pickle has no MARK to pop to');
    return stack.splice(start!);
  };
  const list = (value: unknown, op: string): unknown[] => {
    if (!Array.isArray(value) || Object.isFrozen(value)) fail(`${op} on a value that is not a list`);
    return value as unknown[];
  };
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    if (target === null || typeof target !== 'object' || !(DICT in target)) fail('SETITEM on a value that is not a dict');
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') {
      fail(`dict key of type ${describeKey(key)}: only str and int keys are supported`);
    }
    // Floats and ints are both JS numbers here. A whole float (2.0) is the same key as 2 in Python;
    // any other float would come back as a str or int key it never was.
    if (typeof key === 'number' && !Number.isInteger(key)) fail(`dict key ${String(key)}, a float: only str and int keys are supported`);
    // defineProperty: a key named "__proto__" becomes an own key, never the prototype.
    const dict = target as object;
    // A JS object has one key for Python's 1 and '1': keeping both is impossible, dropping one silently wrong.
    if (Object.prototype.hasOwnProperty.call(dict, String(key)) && isIntKey(dict, String(key)) !== (typeof key !== 'string')) {
      fail(`a dict has both ${String(key)} and '${String(key)}' as keys, which JS objects cannot tell apart`);
    }
    Object.defineProperty(dict, String(key), { value, enumerable: true, writable: true, configurable: true });
    if (typeof key !== 'string') markIntKey(dict, String(key));
  };
  const int = (v: bigint): number | bigint => (v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v);
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`pickle refers to memo slot ${i}, which was never stored`);
    return memo.get(i);
  };

  for (;;) {
    const opAt = at;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length prefix we do not need
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail('pickle ends with a malformed stack');
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x8a: // LONG1
        stack.push(readLong(u8()));
        break;
      case 0x8b: { // LONG4
        const n = u32();
        // torch writes no such ints; a huge one would only cost memory and time.
        if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes (LONG4); at most ${MAX_LONG_BYTES} are supported`);
        stack.push(readLong(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(str(u32(), latin1));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(str(u8(), latin1));
        break;
      case 0x42: // BINBYTES
        stack.push(Uint8Array.prototype.slice.call(bytes, need(u32()), at));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Uint8Array.prototype.slice.call(bytes, need(u8()), at));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Uint8Array.prototype.slice.call(bytes, need(u64()), at));
        break;
      case 0x96: // BYTEARRAY8 (protocol 5's bytearray)
        stack.push(Uint8Array.prototype.slice.call(bytes, need(u64()), at));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(newDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()));
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2 !== 0) fail(`DICT of ${items.length} items: keys and values must pair up`);
        const dict = newDict();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
        stack.push(dict);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        list(top(), 'APPEND').push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const target = list(top(), 'APPENDS');
        for (const item of items) target.push(item); // not push(...items): that overflows the call stack on long lists
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const dict = top();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(hooks.findGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.findGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (typeof callable !== 'function') fail(`REDUCE on ${describeKey(callable)}, which is not an allowed callable`);
        if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
        if ((args as unknown[]).length > MAX_CALL_ARGS) fail(`REDUCE with ${(args as unknown[]).length} arguments`);
        stack.push((callable as (...a: unknown[]) => unknown)(...(args as unknown[])));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args); allowed callables build their value the same way
        const args = pop();
        const cls = pop();
        if (typeof cls !== 'function' || !Array.isArray(args)) fail('NEWOBJ on a value that is not an allowed class');
        if ((args as unknown[]).length > MAX_CALL_ARGS) fail(`NEWOBJ with ${(args as unknown[]).length} arguments`);
        stack.push((cls as (...a: unknown[]) => unknown)(...(args as unknown[])));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        hooks.build(top(), state);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt}`);
    }
  }

  function readLong(n: number): number | bigint {
    const start = need(n);
    return int(littleEndianSigned(bytes, start, n));
  }
}

/** A two's-complement little-endian integer of `n` bytes. */
function littleEndianSigned(bytes: Uint8Array, start: number, n: number): bigint {
  if (n === 0) return 0n;
  // Through a hex string: linear in n, where shifting a growing bigint byte by byte is quadratic.
  let hex = '';
  for (let i = start + n - 1; i >= start; i--) hex += HEX[bytes[i]];
  let v = BigInt('0x' + hex);
  if (bytes[start + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}

/** The longest LONG4 integer read: 32,768 bits, far past any int torch writes. */
const MAX_LONG_BYTES = 4096;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function describeKey(value: unknown): string {
  if (value === null) return 'None';
  if (Array.isArray(value)) return 'tuple';
  return typeof value === 'object' ? 'object' : typeof value;
}
