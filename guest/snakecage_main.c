/*
 * snakecage_main.c: the guest interpreter's entry point (replaces CPython's
 * Programs/python.c in the wasm32-wasi build).
 *
 * It differs from `python SCRIPT` in three ways, all for the sandbox:
 *   1. Between interpreter start-up and the user's script it calls the host
 *      import snakecage.user_code_begin(): the host starts the fuel budget
 *      there, so start-up is never charged to the user. When the script and
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
 *
 * argv is the policy's argv: argv[0] is the interpreter name, then the usual
 * interpreter options, then the script path and the script's arguments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SNAKECAGE_IMPORT(name) \
  __attribute__((import_module("snakecage"), import_name(#name)))

SNAKECAGE_IMPORT(user_code_begin) void snakecage_user_code_begin(void);
SNAKECAGE_IMPORT(user_code_end) void snakecage_user_code_end(void);

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

/* Runs the pending exception through the same reporting `python` uses and
 * returns the exit status it implies (SystemExit's code, or 1). */
static int report_exception(void) {
  int exitcode = 1;
  if (_Py_HandleSystemExit(&exitcode)) return exitcode;
  PyErr_Print();
  return 1;
}

/* Flushes the text and buffered files the script left open, text layers
 * first so their pending text reaches the buffers. Compiled before the
 * user's code starts; called while the user's fuel is still counted (a flush
 * may call the script's own objects). Only objects made after start-up are
 * scanned (see gc.freeze() in main). */
static const char kFlushOpenFiles[] =
    "import gc, io\n"
    "def flush_open_files():\n"
    "    text, buffered = [], []\n"
    "    for o in gc.get_objects():\n"
    "        if isinstance(o, io.TextIOBase):\n"
    "            text.append(o)\n"
    "        elif isinstance(o, io.BufferedIOBase):\n"
    "            buffered.append(o)\n"
    "    for o in text + buffered:\n"
    "        try:\n"
    "            if not o.closed:\n"
    "                o.flush()\n"
    "        except Exception:\n"
    "            pass\n";

/* Returns a new reference to flush_open_files(), or NULL with an exception. */
static PyObject *prepare_flush_open_files(void) {
  PyObject *globals = PyDict_New();
  if (globals == NULL) return NULL;
  PyObject *fn = NULL;
  if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0) {
    PyObject *r = PyRun_String(kFlushOpenFiles, Py_file_input, globals, globals);
    if (r != NULL) {
      Py_DECREF(r);
      fn = PyDict_GetItemString(globals, "flush_open_files"); /* borrowed */
      Py_XINCREF(fn);
    }
  }
  Py_DECREF(globals);
  return fn;
}

static void flush_open_files(PyObject *fn) {
  PyObject *r = PyObject_CallNoArgs(fn);
  if (r == NULL) PyErr_Clear();
  Py_XDECREF(r);
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

int main(int argc, char **argv) {
  PyStatus status;
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.pathconfig_warnings = 0;
  config.install_signal_handlers = 0;
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

  PyObject *flush_fn = prepare_flush_open_files();
  if (flush_fn == NULL) { PyErr_Print(); return 1; }

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

  snakecage_user_code_begin();

  int exitcode = 0;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    fprintf(stderr, "python: can't open file '%s': [Errno %d] %s\n", path,
            errno, strerror(errno));
    exitcode = 2;
  } else {
    PyObject *main_module = PyImport_AddModule("__main__"); /* borrowed */
    PyObject *globals = main_module ? PyModule_GetDict(main_module) : NULL;
    if (globals == NULL || PyDict_SetItemString(globals, "__file__", filename) < 0 ||
        PyDict_SetItemString(globals, "__cached__", Py_None) < 0) {
      exitcode = report_exception();
      fclose(fp);
    } else {
      PyCompilerFlags flags = _PyCompilerFlags_INIT;
      PyObject *r = PyRun_FileExFlags(fp, path, Py_file_input, globals, globals,
                                      /*closeit=*/1, &flags);
      if (r == NULL) exitcode = report_exception();
      Py_XDECREF(r);
    }
  }
  int atexit_status = run_atexit_handlers();
  if (exitcode == 0) exitcode = atexit_status;
  flush_open_files(flush_fn);
  flush_std_streams();

  snakecage_user_code_end();
  Py_DECREF(filename);
  _Exit(exitcode);

fail:
  PyConfig_Clear(&config);
  if (PyStatus_IsExit(status)) return status.exitcode;
  Py_ExitStatusException(status);
}
