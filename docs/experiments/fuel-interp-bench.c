// CPython-like pattern: a dispatch loop over bytecode that calls many tiny
// noinline helpers (refcount, alloc from a freelist, stack push/pop).
typedef unsigned int u32;
#define NI __attribute__((noinline))
typedef struct Obj { u32 refcnt; u32 type; int val; struct Obj* next; } Obj;
static Obj pool[4096];
static Obj* freelist;
static Obj* stack[256];
static int sp;
static u32 live;
NI static void new_reference(Obj* o) { o->refcnt = 1; live++; }
NI static Obj* obj_malloc(void) { Obj* o = freelist; if (o) freelist = o->next; return o; }
NI static void obj_free(Obj* o) { o->next = freelist; freelist = o; live--; }
NI static void incref(Obj* o) { o->refcnt++; }
NI static void decref(Obj* o) { if (--o->refcnt == 0) obj_free(o); }
NI static Obj* new_int(int v) { Obj* o = obj_malloc(); new_reference(o); o->type = 1; o->val = v; return o; }
NI static void push(Obj* o) { stack[sp++] = o; }
NI static Obj* pop(void) { return stack[--sp]; }
NI static Obj* peek(void) { return stack[sp - 1]; }
NI static int is_int(Obj* o) { return o->type == 1; }
NI static Obj* binary_add(Obj* a, Obj* b) { if (is_int(a) && is_int(b)) return new_int(a->val + b->val); return 0; }
NI static Obj* binary_mul(Obj* a, Obj* b) { if (is_int(a) && is_int(b)) return new_int(a->val * b->val); return 0; }
NI static int compare_lt(Obj* a, Obj* b) { return a->val < b->val; }
static Obj* locals[8];
// ops
enum { LOAD_FAST, STORE_FAST, LOAD_CONST, ADD, MUL, LT_JUMP, JUMP, RET, POP };
static unsigned char code[] = {
  LOAD_CONST, 0, STORE_FAST, 0,          // i = 0
  LOAD_CONST, 0, STORE_FAST, 1,          // s = 0
  /*8*/ LOAD_FAST, 1, LOAD_FAST, 0, ADD, 0, LOAD_CONST, 3, MUL, 0, STORE_FAST, 1,  // s = (s+i)*3
  LOAD_FAST, 0, LOAD_CONST, 1, ADD, 0, STORE_FAST, 0,    // i = i + 1
  LOAD_FAST, 0, LOAD_CONST, 2, LT_JUMP, 8,               // if i < n goto 8
  LOAD_FAST, 1, RET, 0 };
static int consts[4];
NI static int eval(int n) {
  Obj* cobj[4];
  consts[0] = 0; consts[1] = 1; consts[2] = n; consts[3] = 3;
  for (int i = 0; i < 4; i++) cobj[i] = new_int(consts[i]);
  u32 pc = 0;
  for (;;) {
    unsigned char op = code[pc], arg = code[pc + 1];
    pc += 2;
    switch (op) {
      case LOAD_FAST: { Obj* o = locals[arg]; incref(o); push(o); break; }
      case STORE_FAST: { Obj* o = pop(); Obj* old = locals[arg]; locals[arg] = o; if (old) decref(old); break; }
      case LOAD_CONST: { Obj* o = cobj[arg]; incref(o); push(o); break; }
      case ADD: { Obj* b = pop(); Obj* a = pop(); push(binary_add(a, b)); decref(a); decref(b); break; }
      case MUL: { Obj* b = pop(); Obj* a = pop(); push(binary_mul(a, b)); decref(a); decref(b); break; }
      case LT_JUMP: { Obj* b = pop(); Obj* a = pop(); int t = compare_lt(a, b); decref(a); decref(b); if (t) pc = arg; break; }
      case JUMP: pc = arg; break;
      case RET: { Obj* o = pop(); int v = o->val; decref(o); for (int i = 0; i < 8; i++) if (locals[i]) { decref(locals[i]); locals[i] = 0; } for (int i = 0; i < 4; i++) decref(cobj[i]); return v; }
      default: return -1;
    }
  }
}
__attribute__((export_name("run"))) u32 run(u32 reps) {
  u32 r = 0;
  for (int i = 0; i < 4096; i++) { pool[i].next = freelist; freelist = &pool[i]; }
  for (u32 k = 0; k < reps; k++) r += (u32)eval(20000 + (int)(k & 7)) + live;
  return r;
}
