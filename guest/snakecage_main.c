/*
 * snakecage_main.c: the guest interpreter's entry point (replaces CPython's
 * Programs/python.c in the wasm32-wasi build).
 *
 * It differs from `python SCRIPT` in these ways, all for the sandbox:
 *   1. Between interpreter start-up and the user's script it calls the host
 *      import snakecage.user_code_begin(run_user_code): the host starts the
 *      fuel budget there, so start-up is never charged to the user, then
 *      calls run_user_code, which runs the rest and ends the process. What
 *      start-up leaves for it is in statics (g_start), not in main's locals,
 *      so a snapshot of linear memory taken at user_code_begin resumes there
 *      with none of main's frames (src/engine/startup_snapshot.h). When the script and
 *      its atexit handlers are done it calls snakecage.user_code_end(), so
 *      the (deterministic but irrelevant) cost of tearing down is not charged
 *      either.
 *   2. It never runs interpreter finalisation: after the atexit handlers it
 *      flushes every file the script left open (finalisation would have, by
 *      destroying them) and sys.stdout/sys.stderr, then exits with the
 *      script's status (proc_exit). A sandboxed run is thrown away whole;
 *      finalising would only cost time.
 *   3. The home directory of the standard library is fixed (/usr/local), so
 *      start-up does not probe the guest filesystem for landmarks.
 *   4. Start-up imports kPreimportedModules, and after user_code_begin()
 *      returns it re-reads argv and the environment from the host and
 *      reseeds `random`. The executor's zygote stops every interpreter at
 *      user_code_begin() and forks a child per execution there, so the
 *      execution that continues may have other arguments, another
 *      environment and must not share random state with its siblings. A
 *      cold start does exactly the same, so fuel does not depend on how the
 *      interpreter was started.
 *   5. stdout and stderr are unbuffered (`python -u`), so output written
 *      before a trap or a timeout reaches the host.
 *   6. A script containing a NUL byte is refused with the SyntaxError later
 *      3.11 releases raise, instead of being run cut at the NUL.
 *   7. When the script ends on an uncaught ModuleNotFoundError, the module's
 *      name goes to the host (snakecage.missing_module) beside the usual
 *      traceback.
 *   8. When the host keeps the execution's state (snakecage.keeps_state(),
 *      asked once after user_code_begin()), the script is one cell of a
 *      session: after it, open files and the std streams are flushed and
 *      snakecage.cell_end(status) reports it. The host answers a failed cell
 *      by ending this process there; after a successful one, cell_end()
 *      returns when the session's next cell is staged (in a process forked
 *      from this one), which runs the script again in the same __main__,
 *      with argv and the environment re-read. atexit handlers never run for
 *      kept state: the host drops it by ending the process.
 *      Each cell asks snakecage.cell_kind() what it is: the script; a save
 *      (the globals the host can keep, pickled, go to snakecage.state_saved
 *      and the names that cannot be kept to snakecage.state_dropped; the
 *      host never commits such a cell); or a restore then the script (the
 *      globals of an earlier save, read from kSavedStateFile beside the
 *      script and deleted, come back into __main__ first).
 *
 * argv is the policy's argv: argv[0] is the interpreter name, then the usual
 * interpreter options, then the script path and the script's arguments.
 * What start-up fixes (the options, the script path, PYTHON* variables) must
 * be the same after user_code_begin(); the host guarantees it by giving
 * different start-ups different zygotes, and the guest checks it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>
#include <wasi/libc-environ.h>

#define SNAKECAGE_IMPORT(name) \
  __attribute__((import_module("snakecage"), import_name(#name)))

/* `entry` is run_user_code: the host starts the fuel budget, then calls it
 * (a snapshot of this moment resumes there too). Never returns. */
SNAKECAGE_IMPORT(user_code_begin) void snakecage_user_code_begin(void (*entry)(void));
SNAKECAGE_IMPORT(user_code_end) void snakecage_user_code_end(void);
SNAKECAGE_IMPORT(missing_module) void snakecage_missing_module(const char *name, size_t len);
SNAKECAGE_IMPORT(keeps_state) int snakecage_keeps_state(void);
SNAKECAGE_IMPORT(cell_end) void snakecage_cell_end(int exitcode);
SNAKECAGE_IMPORT(cell_kind) int snakecage_cell_kind(void);
SNAKECAGE_IMPORT(state_saved) void snakecage_state_saved(const char *bytes, size_t len);
SNAKECAGE_IMPORT(state_dropped) void snakecage_state_dropped(const char *json, size_t len);

/* What a kept-state cell does (snakecage.cell_kind()). */
enum { kCellScript = 0, kCellSave = 1, kCellRestore = 2 };

/* Internal CPython helper (Python/pythonrun.c, not static): if the pending
 * exception is SystemExit, prints what `python` would print, clears it, stores
 * the exit status and returns 1. */
int _Py_HandleSystemExit(int *exitcode_p);

static void flush_std_streams(void) {
  const char *names[] = {"stdout", "stderr"};
  for (int i = 0; i < 2; i++) {
    PyObject *stream = PySys_GetObject(names[i]); /* borrowed */
    if (stream == NULL || stream == Py_None) continue;
    PyObject *r = PyObject_CallMethod(stream, "flush", NULL);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
  }
  fflush(NULL);
}

/* If the pending exception is a ModuleNotFoundError with a name, tells the
 * host which module (its guidance names what the guest can import instead).
 * Leaves the exception pending, as it was. */
static void report_missing_module(void) {
  if (!PyErr_ExceptionMatches(PyExc_ModuleNotFoundError)) return;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyObject *name = value ? PyObject_GetAttrString(value, "name") : NULL;
  Py_ssize_t len = 0;
  const char *utf8 = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &len) : NULL;
  if (utf8 != NULL) snakecage_missing_module(utf8, (size_t)len);
  Py_XDECREF(name);
  PyErr_Clear();
  PyErr_Restore(type, value, tb);
}

/* Runs the pending exception through the same reporting `python` uses and
 * returns the exit status it implies (SystemExit's code, or 1). */
static int report_exception(void) {
  int exitcode = 1;
  if (_Py_HandleSystemExit(&exitcode)) return exitcode;
  report_missing_module();
  PyErr_Print();
  return 1;
}

/* CPython 3.11.2 reads a script file up to the first NUL byte of each line
 * and silently runs the rest, so `print(1)\0print(2)` printed 1 and
 * succeeded: not the code that was submitted. Later 3.11 releases refuse
 * such a file; this raises the same SyntaxError they do (the line of the
 * first NUL, offset 0, the line's text up to the NUL) and leaves `fp`
 * rewound otherwise. Returns 0, or -1 with the exception set. */
static int refuse_nul_bytes(FILE *fp, PyObject *filename) {
  size_t cap = 65536, len = 0;
  char *src = malloc(cap);
  if (src == NULL) { PyErr_NoMemory(); return -1; }
  for (;;) {
    if (len == cap) {
      char *bigger = realloc(src, cap *= 2);
      if (bigger == NULL) { free(src); PyErr_NoMemory(); return -1; }
      src = bigger;
    }
    size_t n = fread(src + len, 1, cap - len, fp);
    len += n;
    if (n == 0) break;
  }
  int failed = ferror(fp);
  const char *nul = failed ? NULL : memchr(src, '\0', len);
  if (nul == NULL) {
    free(src);
    if (failed) { PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, filename); return -1; }
    rewind(fp);
    return 0;
  }
  long lineno = 1;
  const char *line = src;
  for (const char *c = src; c < nul; c++) {
    if (*c == '\n') { lineno++; line = c + 1; }
  }
  PyObject *text = PyUnicode_DecodeUTF8(line, nul - line, "replace");
  free(src);
  if (text == NULL) return -1;
  PyObject *details = Py_BuildValue("(OliNli)", filename, lineno, 0, text, lineno, 0);
  if (details == NULL) return -1;
  PyObject *args = Py_BuildValue("(sN)", "source code cannot contain null bytes", details);
  if (args == NULL) return -1;
  PyErr_SetObject(PyExc_SyntaxError, args);
  Py_DECREF(args);
  return -1;
}

/* What flush_open_files needs, found once at start-up: gc.get_objects and
 * the C base types of every text and buffered stream (_io._TextIOBase,
 * _io._BufferedIOBase: io.TextIOWrapper, io.BufferedWriter and any Python
 * subclass of io's classes derive from them). */
typedef struct {
  PyObject *get_objects;
  PyObject *text_base;
  PyObject *buffered_base;
} OpenFileTypes;

static int find_open_file_types(OpenFileTypes *t) {
  PyObject *gc = PyImport_ImportModule("gc");
  PyObject *io = gc ? PyImport_ImportModule("_io") : NULL;
  t->get_objects = io ? PyObject_GetAttrString(gc, "get_objects") : NULL;
  t->text_base = t->get_objects ? PyObject_GetAttrString(io, "_TextIOBase") : NULL;
  t->buffered_base = t->text_base ? PyObject_GetAttrString(io, "_BufferedIOBase") : NULL;
  Py_XDECREF(io);
  Py_XDECREF(gc);
  if (t->buffered_base == NULL) return -1;
  if (!PyType_Check(t->text_base) || !PyType_Check(t->buffered_base)) {
    PyErr_SetString(PyExc_RuntimeError, "snakecage: _io's stream base types are not types");
    return -1;
  }
  return 0;
}

/* Flushes every stream of `base`'s kind in `objects` that is not closed,
 * ignoring errors (a script's own stream may fail as it likes). */
static void flush_streams_of_type(PyObject *objects, PyTypeObject *base) {
  /* The size is read again every time round and each stream is held while
   * its own code runs: a script's flush() may find this list through
   * gc.get_objects() and change it. */
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(objects); i++) {
    PyObject *o = PyList_GET_ITEM(objects, i);
    if (!PyObject_TypeCheck(o, base)) continue;
    Py_INCREF(o);
    PyObject *closed = PyObject_GetAttrString(o, "closed");
    int is_closed = closed ? PyObject_IsTrue(closed) : -1;
    Py_XDECREF(closed);
    if (is_closed == 0) {
      PyObject *r = PyObject_CallMethod(o, "flush", NULL);
      Py_XDECREF(r);
    }
    Py_DECREF(o);
    PyErr_Clear();
  }
}

/* Flushes the text and buffered files the script left open, text layers
 * first so their pending text reaches the buffers: what finalising the
 * interpreter would do through each stream's finaliser. Called while the
 * user's fuel is still counted (a flush may call the script's own objects).
 * Only objects made after start-up are scanned (see gc.freeze() in main),
 * and the type test is a C subtype check: io's abstract classes would
 * answer isinstance() through ABCMeta, which cost ~300,000 operators per
 * execution for a handful of objects. */
static void flush_open_files(const OpenFileTypes *t) {
  PyObject *objects = PyObject_CallNoArgs(t->get_objects);
  if (objects == NULL || !PyList_Check(objects)) {
    Py_XDECREF(objects);
    PyErr_Clear();
    return;
  }
  flush_streams_of_type(objects, (PyTypeObject *)t->text_base);
  flush_streams_of_type(objects, (PyTypeObject *)t->buffered_base);
  Py_DECREF(objects);
}

/* Commonly used standard-library modules, imported during start-up so an
 * execution from the zygote finds them loaded. Documented in the README;
 * none keeps per-process secrets except `random`, reseeded after
 * user_code_begin(). */
static const char *const kPreimportedModules[] = {
    "base64",   "bisect",     "collections", "copy",      "csv",      "dataclasses",
    "datetime", "decimal",    "enum",        "fractions", "functools", "hashlib",
    "heapq",    "io",         "itertools",   "json",      "math",     "operator",
    "pathlib",  "random",     "re",          "statistics", "string",  "struct",
    "textwrap", "time",       "typing",
};

static int preimport_modules(void) {
  for (size_t i = 0; i < sizeof kPreimportedModules / sizeof kPreimportedModules[0]; i++) {
    PyObject *m = PyImport_ImportModule(kPreimportedModules[i]);
    if (m == NULL) return -1;
    Py_DECREF(m);
  }
  return 0;
}

/* Applies what the host says after user_code_begin(): sys.argv (the part
 * after the interpreter's own options, whose count start-up fixed),
 * sys.orig_argv and os.environ. (`random` is reseeded in C, see
 * reseed_random.) */
static const char kRefreshFromHost[] =
    "import os, sys\n"
    "def refresh_from_host(argv, orig_argv, environ):\n"
    "    sys.argv = argv\n"
    "    sys.orig_argv = orig_argv\n"
    "    os.environ._data.clear()\n"
    "    os.environ._data.update(environ)\n";

/* The file a restore cell reads its state from, in the script's directory
 * (the host puts it there just before, and removes it if the cell did
 * not). */
static const char kSavedStateFile[] = ".snakecage-saved-state";

/* Saving and restoring a kept state's globals. A module is kept as its
 * name and imported again; any other value is kept when it pickles without
 * a reference to a function or class defined in __main__ (those do not
 * exist in the interpreter that restores). Each value is pickled alone, so
 * two names for one object come back as two objects. Dunder names
 * (__builtins__, __file__, ...) are the interpreter's own and never kept. */
static const char kStateHelpers[] =
    "def save_state(g):\n"
    "    import io, json, pickle, types\n"
    "    class Pickler(pickle.Pickler):\n"
    "        def reducer_override(self, obj):\n"
    "            if isinstance(obj, (type, types.FunctionType)) and \\\n"
    "                    getattr(obj, '__module__', None) == '__main__':\n"
    "                raise pickle.PicklingError('defined in __main__')\n"
    /* Pickle's own protocol, not a stub: NotImplemented from
     * reducer_override means "pickle this object the usual way". */
    "            return NotImplemented\n"
    "    modules, kept, dropped = {}, {}, []\n"
    "    for name, value in list(g.items()):\n"
    "        if name.startswith('__') and name.endswith('__'):\n"
    "            continue\n"
    "        if isinstance(value, types.ModuleType):\n"
    "            modules[name] = value.__name__\n"
    "            continue\n"
    "        buf = io.BytesIO()\n"
    "        try:\n"
    "            Pickler(buf, protocol=5).dump(value)\n"
    "        except Exception:\n"
    "            dropped.append(name)\n"
    "            continue\n"
    "        kept[name] = buf.getvalue()\n"
    "    return pickle.dumps((modules, kept), protocol=5), json.dumps(dropped)\n"
    "def restore_state(g, path):\n"
    "    import importlib, json, os, pickle\n"
    "    with open(path, 'rb') as f:\n"
    "        data = f.read()\n"
    "    os.unlink(path)\n"
    "    modules, kept = pickle.loads(data)\n"
    "    dropped = []\n"
    "    for name, module in modules.items():\n"
    "        try:\n"
    "            g[name] = importlib.import_module(module)\n"
    "        except Exception:\n"
    "            dropped.append(name)\n"
    "    for name, blob in kept.items():\n"
    "        try:\n"
    "            g[name] = pickle.loads(blob)\n"
    "        except Exception:\n"
    "            dropped.append(name)\n"
    "    return json.dumps(dropped)\n";

/* __main__'s namespace (borrowed), or NULL with an exception set. */
static PyObject *main_globals(void) {
  PyObject *main_module = PyImport_AddModule("__main__"); /* borrowed */
  return main_module ? PyModule_GetDict(main_module) : NULL;
}

/* A save cell: hands the host what save_state() made. Returns the cell's
 * exit status (an exception is reported as usual). */
static int save_state_cell(PyObject *save_fn) {
  PyObject *globals = main_globals();
  PyObject *r = globals ? PyObject_CallOneArg(save_fn, globals) : NULL;
  if (r == NULL) return report_exception();
  PyObject *data = PyTuple_GetItem(r, 0);    /* borrowed */
  PyObject *dropped = PyTuple_GetItem(r, 1); /* borrowed */
  Py_ssize_t dropped_len = 0;
  const char *dropped_utf8 =
      dropped && PyUnicode_Check(dropped) ? PyUnicode_AsUTF8AndSize(dropped, &dropped_len) : NULL;
  if (data == NULL || !PyBytes_Check(data) || dropped_utf8 == NULL) {
    Py_DECREF(r);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "snakecage: save_state broke");
    return report_exception();
  }
  snakecage_state_dropped(dropped_utf8, (size_t)dropped_len);
  snakecage_state_saved(PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data));
  Py_DECREF(r);
  return 0;
}

/* Before a restore cell's script: the saved globals back into __main__
 * (restore_state() reads and deletes `state_path`), the names it could not
 * restore to the host. Returns 0, or the exit status of an exception. */
static int restore_state_cell(PyObject *restore_fn, PyObject *state_path) {
  PyObject *globals = main_globals();
  PyObject *r = globals ? PyObject_CallFunctionObjArgs(restore_fn, globals, state_path, NULL)
                        : NULL;
  if (r == NULL) return report_exception();
  Py_ssize_t len = 0;
  const char *utf8 = PyUnicode_Check(r) ? PyUnicode_AsUTF8AndSize(r, &len) : NULL;
  if (utf8 != NULL) snakecage_state_dropped(utf8, (size_t)len);
  Py_DECREF(r);
  if (utf8 == NULL) return report_exception();
  return 0;
}

/* The instance layout of _random.Random (Modules/_randommodule.c, CPython
 * 3.11): a Mersenne Twister's 624 words and its position. find_random_state
 * checks it against the type before anything is written through it. */
enum { kMersenneWords = 624 };
typedef struct {
  PyObject_HEAD
  int index;
  uint32_t state[kMersenneWords];
} MersenneTwisterObject;

/* random's shared instance (random._inst, behind random.random() and the
 * other module functions), or NULL if its type is not the layout above;
 * a new reference. Called once, at start-up. */
static PyObject *find_random_state(void) {
  PyObject *random = PyImport_ImportModule("random");
  PyObject *c_random = random ? PyImport_ImportModule("_random") : NULL;
  PyObject *base = c_random ? PyObject_GetAttrString(c_random, "Random") : NULL;
  PyObject *inst = base ? PyObject_GetAttrString(random, "_inst") : NULL;
  if (inst != NULL &&
      !(PyType_Check(base) && PyObject_TypeCheck(inst, (PyTypeObject *)base) &&
        ((PyTypeObject *)base)->tp_basicsize == (Py_ssize_t)sizeof(MersenneTwisterObject))) {
    PyErr_SetString(PyExc_RuntimeError,
                    "snakecage: _random.Random does not have the layout this guest was built for");
    Py_CLEAR(inst);
  }
  Py_XDECREF(base);
  Py_XDECREF(c_random);
  Py_XDECREF(random);
  return inst;
}

/* Gives `random` fresh state from the host's entropy, so that executions
 * forked from one zygote never share a random sequence. random.seed() would
 * do the same through init_by_array, at ~86,000 operators of every
 * execution's fuel; filling the state directly costs one host call. As
 * init_by_array does, the top bit of word 0 is set (the state can never be
 * all zero), and index = 624 makes the next draw regenerate the words.
 * Returns 0, or -1 with an exception set. */
static int reseed_random(PyObject *inst) {
  MersenneTwisterObject *mt = (MersenneTwisterObject *)inst;
  if (__wasi_random_get((uint8_t *)mt->state, sizeof mt->state) != 0) {
    PyErr_SetString(PyExc_OSError, "snakecage: random_get failed");
    return -1;
  }
  mt->state[0] |= 0x80000000u;
  mt->index = kMersenneWords;
  return PyObject_SetAttrString(inst, "gauss_next", Py_None);
}

static PyObject *define_function(const char *source, const char *name) {
  PyObject *globals = PyDict_New();
  if (globals == NULL) return NULL;
  PyObject *fn = NULL;
  if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0) {
    PyObject *r = PyRun_String(source, Py_file_input, globals, globals);
    if (r != NULL) {
      Py_DECREF(r);
      fn = PyDict_GetItemString(globals, name); /* borrowed */
      Py_XINCREF(fn);
    }
  }
  Py_DECREF(globals);
  return fn;
}

/* The host's argv now, as a list of str; NULL with an exception set. */
static PyObject *host_argv(void) {
  __wasi_size_t argc = 0, size = 0;
  if (__wasi_args_sizes_get(&argc, &size) != 0) {
    return PyErr_Format(PyExc_OSError, "args_sizes_get failed");
  }
  char **ptrs = calloc(argc + 1, sizeof(char *));
  char *buf = malloc(size ? size : 1);
  PyObject *list = NULL;
  if (ptrs == NULL || buf == NULL) {
    PyErr_NoMemory();
  } else if (__wasi_args_get((uint8_t **)ptrs, (uint8_t *)buf) != 0) {
    PyErr_Format(PyExc_OSError, "args_get failed");
  } else if ((list = PyList_New(argc)) != NULL) {
    for (size_t i = 0; i < argc; i++) {
      PyObject *a = PyUnicode_DecodeFSDefault(ptrs[i]);
      if (a == NULL) { Py_CLEAR(list); break; }
      PyList_SET_ITEM(list, i, a);
    }
  }
  free(ptrs);
  free(buf);
  return list;
}

/* The host's environment now, as {bytes: bytes} (os.environ's _data). */
static PyObject *host_environ(void) {
  __wasilibc_deinitialize_environ();
  __wasilibc_initialize_environ();
  PyObject *d = PyDict_New();
  if (d == NULL) return NULL;
  for (char **e = __wasilibc_get_environ(); e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL) continue;
    PyObject *k = PyBytes_FromStringAndSize(*e, eq - *e);
    PyObject *v = PyBytes_FromString(eq + 1);
    if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0) {
      Py_XDECREF(k);
      Py_XDECREF(v);
      Py_DECREF(d);
      return NULL;
    }
    Py_DECREF(k);
    Py_DECREF(v);
  }
  return d;
}

/* After user_code_begin(): re-reads argv and the environment from the host.
 * `startup_orig_argv` is sys.orig_argv at start-up and `n_options` how many
 * of its elements start-up consumed (everything before sys.argv). Returns 0,
 * or -1 with an exception set. */
static int refresh_from_host(PyObject *refresh_fn, PyObject *startup_orig_argv,
                             Py_ssize_t n_options) {
  PyObject *orig = host_argv();
  if (orig == NULL) return -1;
  Py_ssize_t n = PyList_GET_SIZE(orig);
  /* The options and the script path must be what start-up parsed. */
  int same = n > n_options;
  for (Py_ssize_t i = 0; same && i <= n_options; i++) {
    same = PyObject_RichCompareBool(PyList_GET_ITEM(orig, i),
                                    PyList_GET_ITEM(startup_orig_argv, i), Py_EQ) == 1;
  }
  if (!same) {
    Py_DECREF(orig);
    PyErr_SetString(PyExc_RuntimeError,
                    "snakecage: the interpreter options or the script path differ from "
                    "what the interpreter was started with");
    return -1;
  }
  PyObject *argv = PyList_GetSlice(orig, n_options, n);
  PyObject *env = argv ? host_environ() : NULL;
  PyObject *r = env ? PyObject_CallFunctionObjArgs(refresh_fn, argv, orig, env, NULL) : NULL;
  Py_XDECREF(argv);
  Py_XDECREF(env);
  Py_DECREF(orig);
  if (r == NULL) return -1;
  Py_DECREF(r);
  return 0;
}

static int run_atexit_handlers(void) {
  PyObject *atexit = PyImport_ImportModule("atexit");
  if (atexit == NULL) return report_exception();
  PyObject *r = PyObject_CallMethod(atexit, "_run_exitfuncs", NULL);
  Py_DECREF(atexit);
  if (r == NULL) return report_exception();
  Py_DECREF(r);
  return 0;
}

/* Runs the script at `path` in __main__'s namespace (as `python SCRIPT`
 * does) and returns its exit status: 0, SystemExit's code, 1 after an
 * uncaught exception (printed), 2 when the file cannot be opened. */
static int run_script(const char *path, PyObject *filename) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    fprintf(stderr, "python: can't open file '%s': [Errno %d] %s\n", path, errno,
            strerror(errno));
    return 2;
  }
  PyObject *main_module = PyImport_AddModule("__main__"); /* borrowed */
  PyObject *globals = main_module ? PyModule_GetDict(main_module) : NULL;
  if (globals == NULL || PyDict_SetItemString(globals, "__file__", filename) < 0 ||
      PyDict_SetItemString(globals, "__cached__", Py_None) < 0 ||
      refuse_nul_bytes(fp, filename) < 0) {
    fclose(fp);
    return report_exception();
  }
  PyCompilerFlags flags = _PyCompilerFlags_INIT;
  PyObject *r = PyRun_FileExFlags(fp, path, Py_file_input, globals, globals,
                                  /*closeit=*/1, &flags);
  int exitcode = r == NULL ? report_exception() : 0;
  Py_XDECREF(r);
  return exitcode;
}

/* What start-up leaves for run_user_code(). Static, not main's locals: a
 * start-up snapshot (engine/startup_snapshot.h) resumes in run_user_code()
 * with none of main's frames, only linear memory and the stack pointer. */
static struct {
  const char *path;           /* the script */
  PyObject *filename;         /* the same, as str */
  OpenFileTypes open_file_types;
  PyObject *refresh_fn, *save_fn, *restore_fn;
  PyObject *state_path;       /* kSavedStateFile beside the script */
  PyObject *random_state;     /* random's Random instance */
  PyObject *startup_orig_argv;
  Py_ssize_t n_options;       /* how much of startup_orig_argv start-up consumed */
} g_start;

/* Everything after user_code_begin(): the script (or the cells of a kept
 * state), then the exit. Ends the process; never returns. */
static void run_user_code(void) {
  const char *path = g_start.path;
  PyObject *filename = g_start.filename;
  int exitcode;
  if (snakecage_keeps_state()) {
    for (int first = 1;; first = 0) {
      const int kind = snakecage_cell_kind();
      if (kind == kCellSave) {
        exitcode = save_state_cell(g_start.save_fn);
      } else {
        exitcode = refresh_from_host(g_start.refresh_fn, g_start.startup_orig_argv,
                                     g_start.n_options) < 0 ||
                           (first && reseed_random(g_start.random_state) < 0)
                       ? report_exception()
                       : 0;
        if (exitcode == 0 && kind == kCellRestore) {
          exitcode = restore_state_cell(g_start.restore_fn, g_start.state_path);
        }
        if (exitcode == 0) exitcode = run_script(path, filename);
      }
      flush_open_files(&g_start.open_file_types);
      flush_std_streams();
      snakecage_cell_end(exitcode); /* returns in the next cell's process */
    }
  }
  exitcode = refresh_from_host(g_start.refresh_fn, g_start.startup_orig_argv,
                               g_start.n_options) < 0 ||
                     reseed_random(g_start.random_state) < 0
                 ? report_exception()
                 : run_script(path, filename);
  int atexit_status = run_atexit_handlers();
  if (exitcode == 0) exitcode = atexit_status;
  flush_open_files(&g_start.open_file_types);
  flush_std_streams();

  snakecage_user_code_end();
  _Exit(exitcode);
}

int main(int argc, char **argv) {
  PyStatus status;
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.pathconfig_warnings = 0;
  config.install_signal_handlers = 0;
  /* stdout and stderr unbuffered (as `python -u`): every write reaches the
   * host at once, so what the code printed before a trap, a timeout or a
   * kill is in the result. A buffer in the guest would die with it. */
  config.buffered_stdio = 0;
  status = PyConfig_SetBytesString(&config, &config.home, "/usr/local");
  if (PyStatus_Exception(status)) goto fail;
  status = PyConfig_SetBytesArgv(&config, argc, argv);
  if (PyStatus_Exception(status)) goto fail;
  /* Reads argv (and the environment the policy gave) into the config. */
  status = PyConfig_Read(&config);
  if (PyStatus_Exception(status)) goto fail;
  if (config.run_filename == NULL) {
    fprintf(stderr, "snakecage: argv must name a script to run\n");
    PyConfig_Clear(&config);
    return 2;
  }
  status = Py_InitializeFromConfig(&config);
  if (PyStatus_Exception(status)) goto fail;

  /* Before sys.path[0] becomes the script's directory: a module the user
   * put beside the script must never be imported here, before the fuel
   * budget starts. */
  if (preimport_modules() < 0) { PyErr_Print(); return 1; }

  /* sys.path[0] is the script's directory, as for `python SCRIPT`. */
  PyObject *filename = PyUnicode_FromWideChar(config.run_filename, -1);
  PyConfig_Clear(&config);
  if (filename == NULL) { PyErr_Print(); return 1; }
  {
    PyObject *os_path = PyImport_ImportModule("os.path");
    PyObject *dir = os_path ? PyObject_CallMethod(os_path, "dirname", "O", filename) : NULL;
    PyObject *sys_path = PySys_GetObject("path");
    if (dir == NULL || sys_path == NULL || PyList_Insert(sys_path, 0, dir) < 0) {
      PyErr_Print();
      return 1;
    }
    Py_DECREF(dir);
    Py_DECREF(os_path);
  }

  const char *path = PyUnicode_AsUTF8(filename);
  if (path == NULL) { PyErr_Print(); return 1; }
  g_start.path = path;
  g_start.filename = filename;

  if (find_open_file_types(&g_start.open_file_types) < 0) { PyErr_Print(); return 1; }
  g_start.refresh_fn = define_function(kRefreshFromHost, "refresh_from_host");
  if (g_start.refresh_fn == NULL) { PyErr_Print(); return 1; }
  g_start.save_fn = define_function(kStateHelpers, "save_state");
  g_start.restore_fn = define_function(kStateHelpers, "restore_state");
  if (g_start.save_fn == NULL || g_start.restore_fn == NULL) { PyErr_Print(); return 1; }
  {
    PyObject *os_path = PyImport_ImportModule("os.path");
    PyObject *dir = os_path ? PyObject_CallMethod(os_path, "dirname", "O", filename) : NULL;
    g_start.state_path =
        dir ? PyObject_CallMethod(os_path, "join", "Os", dir, kSavedStateFile) : NULL;
    Py_XDECREF(dir);
    Py_XDECREF(os_path);
    if (g_start.state_path == NULL) { PyErr_Print(); return 1; }
  }
  g_start.random_state = find_random_state();
  if (g_start.random_state == NULL) { PyErr_Print(); return 1; }
  /* What start-up parsed: sys.orig_argv, and how much of it were options. */
  PyObject *startup_orig_argv = PySys_GetObject("orig_argv"); /* borrowed */
  PyObject *startup_argv = PySys_GetObject("argv");           /* borrowed */
  if (startup_orig_argv == NULL || startup_argv == NULL || !PyList_Check(startup_orig_argv) ||
      !PyList_Check(startup_argv)) {
    fprintf(stderr, "snakecage: sys.argv is not set after start-up\n");
    return 1;
  }
  Py_INCREF(startup_orig_argv);
  g_start.startup_orig_argv = startup_orig_argv;
  g_start.n_options = PyList_GET_SIZE(startup_orig_argv) - PyList_GET_SIZE(startup_argv);

  /* Everything start-up made moves to the collector's permanent generation:
   * never scanned again, so the user's collections (and the open-file scan
   * at exit, which walks gc.get_objects()) see only the user's objects. */
  {
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
    if (r == NULL) { PyErr_Print(); return 1; }
    Py_DECREF(r);
    Py_DECREF(gc);
  }

  snakecage_user_code_begin(run_user_code);
  fprintf(stderr, "snakecage: the host did not run the user's code\n");
  return 1;

fail:
  PyConfig_Clear(&config);
  if (PyStatus_IsExit(status)) return status.exitcode;
  Py_ExitStatusException(status);
}
