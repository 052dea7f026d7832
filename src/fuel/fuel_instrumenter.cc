// fuel/fuel_instrumenter.cc: see fuel_instrumenter.h for the model.
//
// The rewrite works on WABT's IR: ReadBinaryIr, edit each function's
// expression tree in place, WriteBinaryModule. In the IR a block, loop or if
// is one expression that owns its body lists; the `else` and `end`
// instructions are implicit at the end of those lists. So "the instruction
// after a segment end" is the next expression in the same list (after a
// block/loop/if: after its `end`), or the first expression of a body list,
// and a segment that goes on through a block continues from the parent list
// into the block's list and back.

#include "fuel/fuel_instrumenter.h"

#include <iterator>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/common.h"
#include "wabt/error-formatter.h"
#include "wabt/error.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"

namespace snakecage::fuel {
namespace {

using wabt::Expr;
using wabt::ExprList;
using wabt::ExprType;

// Fuel cost of one operator (Wasmtime's default_operator_cost). A switch
// without default: a new ExprType in a WABT update fails the build
// (-Werror=switch) instead of silently costing something.
uint64_t OperatorCost(ExprType type) {
  switch (type) {
    case ExprType::Nop:
    case ExprType::Drop:
    case ExprType::Block:
    case ExprType::Loop:
    case ExprType::Unreachable:
    case ExprType::Return:
      return 0;
    // Not an operator: WABT's carrier for code-metadata annotations.
    case ExprType::CodeMetadata:
      return 0;
    case ExprType::AtomicLoad:
    case ExprType::AtomicRmw:
    case ExprType::AtomicRmwCmpxchg:
    case ExprType::AtomicStore:
    case ExprType::AtomicNotify:
    case ExprType::AtomicFence:
    case ExprType::AtomicWait:
    case ExprType::Binary:
    case ExprType::Br:
    case ExprType::BrIf:
    case ExprType::BrTable:
    case ExprType::Call:
    case ExprType::CallIndirect:
    case ExprType::CallRef:
    case ExprType::Compare:
    case ExprType::Const:
    case ExprType::Convert:
    case ExprType::GlobalGet:
    case ExprType::GlobalSet:
    case ExprType::If:
    case ExprType::Load:
    case ExprType::LocalGet:
    case ExprType::LocalSet:
    case ExprType::LocalTee:
    case ExprType::MemoryCopy:
    case ExprType::DataDrop:
    case ExprType::MemoryFill:
    case ExprType::MemoryGrow:
    case ExprType::MemoryInit:
    case ExprType::MemorySize:
    case ExprType::RefIsNull:
    case ExprType::RefFunc:
    case ExprType::RefNull:
    case ExprType::Rethrow:
    case ExprType::ReturnCall:
    case ExprType::ReturnCallIndirect:
    case ExprType::Select:
    case ExprType::SimdLaneOp:
    case ExprType::SimdLoadLane:
    case ExprType::SimdStoreLane:
    case ExprType::SimdShuffleOp:
    case ExprType::LoadSplat:
    case ExprType::LoadZero:
    case ExprType::Store:
    case ExprType::TableCopy:
    case ExprType::ElemDrop:
    case ExprType::TableInit:
    case ExprType::TableGet:
    case ExprType::TableGrow:
    case ExprType::TableSize:
    case ExprType::TableSet:
    case ExprType::TableFill:
    case ExprType::Ternary:
    case ExprType::Throw:
    case ExprType::Try:
    case ExprType::Unary:
      return 1;
  }
  return 1;  // unreachable: the switch is exhaustive
}

// Whether `type` ends its segment with nothing after it in the same list
// ever executing (the rest of the list is dead code).
bool IsUnconditional(ExprType type) {
  switch (type) {
    case ExprType::Br:
    case ExprType::BrTable:
    case ExprType::Return:
    case ExprType::Unreachable:
    case ExprType::ReturnCall:
    case ExprType::ReturnCallIndirect:
    case ExprType::Throw:
    case ExprType::Rethrow:
      return true;
    default:
      return false;
  }
}

// Module-level side of the calling convention (see "Injected code" in
// the header): every defined function takes the remaining fuel as an extra
// trailing i64 parameter and returns what is left as an extra trailing i64
// result; imported functions keep their types. FuelAbi finds or adds the
// function types that needs, and appends the two kinds of glue functions:
// export wrappers (original type, for the host) and import adapters
// (fuelled type, so that a table can hold an imported function).
class FuelAbi {
 public:
  FuelAbi(wabt::Module& module, wabt::Index fuel_global)
      : module_(module), fuel_global_(fuel_global) {}

  bool IsImport(wabt::Index func) const {
    return func < module_.num_func_imports;
  }

  // `sig` with an i64 appended to its parameters and to its results.
  static wabt::FuncSignature Fuelled(const wabt::FuncSignature& sig) {
    wabt::FuncSignature fuelled;
    fuelled.param_types = sig.param_types;
    fuelled.result_types = sig.result_types;
    fuelled.param_types.push_back(wabt::Type::I64);
    fuelled.result_types.push_back(wabt::Type::I64);
    return fuelled;
  }

  // Index of a function type equal to `sig`; appends one if there is none.
  // (Function types are structural: any equal type will do, for functions,
  // call_indirect and blocks alike.)
  wabt::Index TypeFor(const wabt::FuncSignature& sig) {
    const wabt::Index existing = module_.GetFuncTypeIndex(sig);
    if (existing != wabt::kInvalidIndex) {
      return existing;
    }
    auto type = std::make_unique<wabt::FuncType>();
    type->sig = sig;
    auto field = std::make_unique<wabt::TypeModuleField>();
    field->type = std::move(type);
    const wabt::Index index = static_cast<wabt::Index>(module_.types.size());
    module_.AppendField(std::move(field));
    return index;
  }

  // Gives `decl` (a function's or a call_indirect's) the fuelled version of
  // its signature.
  void Refuel(wabt::FuncDeclaration& decl) {
    decl.sig = Fuelled(decl.sig);
    decl.has_func_type = true;
    decl.type_var = wabt::Var(TypeFor(decl.sig), wabt::Location());
  }

  // A defined function of the fuelled type of import `import` that stores
  // its fuel argument to the global, calls the import (the host sees and may
  // set the global, as for a direct call) and returns the global. Made once
  // per import.
  wabt::Index AdapterFor(wabt::Index import) {
    auto [it, inserted] = adapters_.try_emplace(import, wabt::kInvalidIndex);
    if (!inserted) {
      return it->second;
    }
    const wabt::FuncSignature sig = module_.funcs[import]->decl.sig;
    const wabt::Index params = sig.GetNumParams();
    wabt::ExprList body;
    body.push_back(std::make_unique<wabt::LocalGetExpr>(LocalVar(params)));
    body.push_back(std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    for (wabt::Index i = 0; i < params; ++i) {
      body.push_back(std::make_unique<wabt::LocalGetExpr>(LocalVar(i)));
    }
    body.push_back(std::make_unique<wabt::CallExpr>(FuncVar(import)));
    body.push_back(std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
    it->second = AddFunction(Fuelled(sig), std::move(body));
    return it->second;
  }

  // A function of signature `original` (defined function `func`'s before
  // the rewrite) that calls `func` with the fuel global and stores the fuel
  // it returns back to the global: what the host calls (exports, start).
  // Made once per function.
  wabt::Index WrapperFor(wabt::Index func, const wabt::FuncSignature& original) {
    auto [it, inserted] = wrappers_.try_emplace(func, wabt::kInvalidIndex);
    if (!inserted) {
      return it->second;
    }
    wabt::ExprList body;
    for (wabt::Index i = 0; i < original.GetNumParams(); ++i) {
      body.push_back(std::make_unique<wabt::LocalGetExpr>(LocalVar(i)));
    }
    body.push_back(std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
    body.push_back(std::make_unique<wabt::CallExpr>(FuncVar(func)));
    body.push_back(std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    it->second = AddFunction(original, std::move(body));
    return it->second;
  }

  wabt::Var FuelVar() const {
    return wabt::Var(fuel_global_, wabt::Location());
  }

 private:
  static wabt::Var LocalVar(wabt::Index index) {
    return wabt::Var(index, wabt::Location());
  }
  static wabt::Var FuncVar(wabt::Index index) {
    return wabt::Var(index, wabt::Location());
  }

  wabt::Index AddFunction(const wabt::FuncSignature& sig, wabt::ExprList body) {
    auto field = std::make_unique<wabt::FuncModuleField>();
    field->func.decl.sig = sig;
    field->func.decl.has_func_type = true;
    field->func.decl.type_var = wabt::Var(TypeFor(sig), wabt::Location());
    field->func.exprs = std::move(body);
    const wabt::Index index = static_cast<wabt::Index>(module_.funcs.size());
    module_.AppendField(std::move(field));
    return index;
  }

  wabt::Module& module_;
  const wabt::Index fuel_global_;
  std::map<wabt::Index, wabt::Index> adapters_;  // import -> adapter
  std::map<wabt::Index, wabt::Index> wrappers_;  // function -> wrapper
};

// Rewrites the bodies of one module. Within a function, the remaining fuel
// lives in the function's fuel parameter ($fuel, the new trailing i64
// parameter): charged and checked there, passed to every defined callee and
// taken back from its extra result, stored to the global only around calls
// of imported functions and before the function traps, and returned to the
// caller. Every check also tests the interrupt global. See "Injected code"
// in the header.
class Instrumenter {
 public:
  Instrumenter(FuelAbi& abi, wabt::Index fuel_global,
               wabt::Index exhausted_global, wabt::Index interrupt_global)
      : abi_(abi),
        fuel_global_(fuel_global),
        exhausted_global_(exhausted_global),
        interrupt_global_(interrupt_global) {}

  // Rewrites defined function `func` to the fuelled calling convention and
  // meters it. Returns an error for instructions the convention cannot
  // express (they need features the input validation rejects today).
  Status InstrumentFunction(wabt::Func& func) {
    status_ = Status();
    func_ = &func;
    const wabt::Index params = func.GetNumParams();
    // $fuel becomes local `params`: the function's own locals move up one.
    ShiftLocals(func.exprs, params);
    for (auto& [name, binding] : func.bindings) {
      if (binding.index >= params) {
        ++binding.index;
      }
    }
    const wabt::TypeVector results = func.decl.sig.result_types;
    abi_.Refuel(func.decl);
    fuel_local_ = params;
    scratch_local_ = wabt::kInvalidIndex;
    targeted_.clear();
    escaped_.clear();
    calling_loops_.clear();
    all_escaped_ = false;
    std::vector<const Expr*> labels;
    AnalyzeControl(func.exprs, labels);
    segments_.clear();
    Open(func.exprs, func.exprs.begin(), ListKind::kFunctionBody);
    InstrumentList(func.exprs);
    Close();

    // Wrap the body in a block with the original results, then push $fuel:
    // every way out (falling off the end, a branch to the function's label,
    // which now names the block) leaves through that one `local.get`, except
    // `return`, which pushes $fuel itself.
    auto body = std::make_unique<wabt::BlockExpr>();
    body->block.decl.sig.result_types = results;
    if (results.size() > 1) {
      body->block.decl.has_func_type = true;
      body->block.decl.type_var =
          wabt::Var(abi_.TypeFor(body->block.decl.sig), wabt::Location());
    }
    body->block.exprs = std::move(func.exprs);
    func.exprs.clear();
    func.exprs.push_back(std::move(body));
    func.exprs.push_back(std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    ++stats_.functions_instrumented;
    return status_;
  }

  const InstrumentStats& stats() const { return stats_; }

 private:
  enum class ListKind { kFunctionBody, kLoopBody, kOther };

  // Adds 1 to every local index >= `first` in `list` (recursively).
  void ShiftLocals(ExprList& list, wabt::Index first) {
    for (Expr& expr : list) {
      wabt::Var* var = nullptr;
      if (auto* get = wabt::dyn_cast<wabt::LocalGetExpr>(&expr)) {
        var = &get->var;
      } else if (auto* set = wabt::dyn_cast<wabt::LocalSetExpr>(&expr)) {
        var = &set->var;
      } else if (auto* tee = wabt::dyn_cast<wabt::LocalTeeExpr>(&expr)) {
        var = &tee->var;
      }
      if (var != nullptr) {
        const wabt::Index index = func_->GetLocalIndex(*var);
        *var = wabt::Var(index >= first ? index + 1 : index, wabt::Location());
        continue;
      }
      ForEachBody(expr, [&](ExprList& body) { ShiftLocals(body, first); });
    }
  }

  template <typename F>
  static void ForEachBody(Expr& expr, F&& f) {
    if (auto* block = wabt::dyn_cast<wabt::BlockExpr>(&expr)) {
      f(block->block.exprs);
    } else if (auto* loop = wabt::dyn_cast<wabt::LoopExpr>(&expr)) {
      f(loop->block.exprs);
    } else if (auto* if_expr = wabt::dyn_cast<wabt::IfExpr>(&expr)) {
      f(if_expr->true_.exprs);
      f(if_expr->false_);
    } else if (auto* try_expr = wabt::dyn_cast<wabt::TryExpr>(&expr)) {
      f(try_expr->block.exprs);
      for (wabt::Catch& handler : try_expr->catches) {
        f(handler.exprs);
      }
    }
  }

  // A segment being charged: it starts at `start` in `*list` (where its
  // charge goes once its cost is known) and may reach into the bodies of
  // blocks, past their ends, and past whole closed blocks and ifs (see
  // InstrumentList). `held` counts the closed constructs it is held across:
  // while held it is not charged when control leaves it, but resumed after
  // the construct. `loop` is the loop whose header it starts, if any.
  struct Segment {
    ExprList* list;
    ExprList::iterator start;
    uint64_t cost;
    ListKind kind;
    const Expr* loop;
    int held;
  };

  // Starts a segment at `at` in `list`; kind says whether it gets a check.
  void Open(ExprList& list, ExprList::iterator at, ListKind kind,
            const Expr* loop = nullptr) {
    segments_.push_back(Segment{&list, at, 0, kind, loop, 0});
    current_ = &segments_.back();
  }

  // Leaves the current segment, if any: inserts its charge (and check),
  // unless a construct holds it, which then charges it when it ends.
  void Close() {
    if (current_ != nullptr && current_->held == 0) Emit(*current_);
    current_ = nullptr;
  }

  void Emit(const Segment& s) {
    EmitCharge(*s.list, s.start, s.cost, s.kind,
               s.loop != nullptr && calling_loops_.count(s.loop) != 0);
  }

  // Holds the current segment across a closed construct (see
  // InstrumentList) and returns it.
  Segment* Hold() {
    ++current_->held;
    return current_;
  }

  // After the closed construct that held `s`: if control can reach the code
  // after it, ends the construct's own last segment and goes on charging
  // `s`; if not, lets go of `s` (charging it if it is no longer current)
  // and leaves no segment open.
  void Resume(Segment* s, bool reachable) {
    if (current_ != s) Close();
    --s->held;
    if (reachable) {
      current_ = s;
    } else if (s->held == 0) {
      Emit(*s);
      current_ = nullptr;
    }
  }

  // Instruments one body list, adding its instructions to the current
  // segment (the caller opens one where the list starts, or it goes on from
  // the enclosing list). Control enters a segment only at its start: a
  // segment ends where control splits (if, br_if) or may join (loop header,
  // the code after an `if` or after a block that a branch targets) and at
  // unconditional branches. Entering a block and leaving a loop or an
  // untargeted block do neither, so the segment goes on through them.
  //
  // A block or if that control can leave only through its end (no branch
  // inside it goes further out, and it has no return) is *closed*: whenever
  // the segment before it runs, the code after it runs too, unless the
  // execution stops inside (a trap). So that code is charged with the
  // segment before the construct (which is held, not charged, while the
  // construct's own segments are), and the join after the construct costs
  // no charge of its own. As with any segment, an execution that stops
  // inside has paid in advance for what it did not reach.
  //
  // On return the segment current at the list's end is still current, or
  // none is if the end is unreachable.
  void InstrumentList(ExprList& list) {
    for (ExprList::iterator it = list.begin(); it != list.end();) {
      Expr& expr = *it;
      if (current_ != nullptr) current_->cost += OperatorCost(expr.type());
      // If `expr` starts the segment, the segment's charge must still come
      // before what is inserted in front of it (the fuel it passes on).
      ExprList::iterator before = InsertBefore(list, it);
      if (current_ != nullptr && current_->list == &list && current_->start == it) {
        current_->start = before;
      }
      if (IsCall(expr.type())) {
        // A call does not end the segment; step over what follows it (the
        // fuel taken back), which costs nothing.
        it = InsertAfterCall(list, it);
        continue;
      }
      ++it;
      const bool targeted = all_escaped_ || targeted_.count(&expr) != 0;
      const bool closed = !all_escaped_ && escaped_.count(&expr) == 0;
      if (auto* block = wabt::dyn_cast<wabt::BlockExpr>(&expr)) {
        Segment* held = closed ? Hold() : nullptr;
        InstrumentList(block->block.exprs);
        if (held != nullptr) {
          Resume(held, current_ != nullptr || targeted);
        } else if (targeted) {
          Close();
          Open(list, it, ListKind::kOther);
        }
      } else if (auto* loop = wabt::dyn_cast<wabt::LoopExpr>(&expr)) {
        Close();
        Open(loop->block.exprs, loop->block.exprs.begin(), ListKind::kLoopBody, &expr);
        InstrumentList(loop->block.exprs);
        // Branches to a loop go to its header: only falling through reaches
        // the code after it.
      } else if (auto* if_expr = wabt::dyn_cast<wabt::IfExpr>(&expr)) {
        Segment* held = closed ? Hold() : nullptr;
        Close();
        const bool then_ends = InstrumentArm(if_expr->true_.exprs);
        const bool else_ends = InstrumentArm(if_expr->false_);
        if (held != nullptr) {
          Resume(held, then_ends || else_ends || targeted);
        } else {
          Open(list, it, ListKind::kOther);
        }
      } else if (auto* try_expr = wabt::dyn_cast<wabt::TryExpr>(&expr)) {
        // Only reachable if the exceptions feature is ever enabled. A handler
        // is entered from a throw (which stored the thrower's fuel to the
        // global), possibly in a callee: it reloads $fuel, then runs like an
        // if arm.
        Close();
        InstrumentArm(try_expr->block.exprs);
        for (wabt::Catch& handler : try_expr->catches) {
          InstrumentArm(handler.exprs);
          handler.exprs.push_front(
              std::make_unique<wabt::LocalSetExpr>(FuelLocal()));
          handler.exprs.push_front(
              std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
        }
        Open(list, it, ListKind::kOther);
      } else if (expr.type() == ExprType::BrIf) {
        Close();
        Open(list, it, ListKind::kOther);
      } else if (IsUnconditional(expr.type())) {
        Close();
      }
      if (current_ == nullptr) {
        // The rest of this list is dead code: it never runs, so it is
        // neither charged nor checked. The list's terminator is reached
        // only by branches, which land after it, in the enclosing list.
        // Dead code is still validated, so its calls follow the convention.
        ConventionOnly(list, it);
        return;
      }
    }
  }

  // Instruments an arm of an `if` (or a try body or handler): a segment of
  // its own that ends with the arm. Returns whether control can fall
  // through the arm's end.
  bool InstrumentArm(ExprList& arm) {
    Open(arm, arm.begin(), ListKind::kOther);
    InstrumentList(arm);
    const bool ends = current_ != nullptr;
    Close();
    return ends;
  }

  // Records, for the function body `list`: in targeted_ every construct
  // (block, loop, if, try) that a branch targets; in escaped_ every
  // construct that control can leave other than through its end (a branch
  // to a label outside it, a return, a throw); in calling_loops_ every loop
  // with a call inside. `labels` holds the enclosing constructs, innermost
  // last.
  void AnalyzeControl(ExprList& list, std::vector<const Expr*>& labels) {
    for (Expr& expr : list) {
      switch (expr.type()) {
        case ExprType::Br:
          Branch(wabt::cast<wabt::BrExpr>(&expr)->var, labels);
          break;
        case ExprType::BrIf:
          Branch(wabt::cast<wabt::BrIfExpr>(&expr)->var, labels);
          break;
        case ExprType::BrTable: {
          auto* table = wabt::cast<wabt::BrTableExpr>(&expr);
          for (const wabt::Var& target : table->targets) Branch(target, labels);
          Branch(table->default_target, labels);
          break;
        }
        case ExprType::Return:
        case ExprType::Throw:
        case ExprType::Rethrow:
        case ExprType::Try:
          escaped_.insert(labels.begin(), labels.end());
          break;
        case ExprType::ReturnCall:
        case ExprType::ReturnCallIndirect:
          escaped_.insert(labels.begin(), labels.end());
          [[fallthrough]];
        case ExprType::Call:
        case ExprType::CallIndirect:
          for (const Expr* label : labels) {
            if (label->type() == ExprType::Loop) calling_loops_.insert(label);
          }
          break;
        default:
          break;
      }
      labels.push_back(&expr);
      ForEachBody(expr, [&](ExprList& body) { AnalyzeControl(body, labels); });
      labels.pop_back();
    }
  }

  // A branch to `label` from inside `labels`: targets one construct and
  // leaves every construct inside that one.
  void Branch(const wabt::Var& label, const std::vector<const Expr*>& labels) {
    if (!label.is_index()) {
      // Binary input names labels by depth; a symbolic label cannot be
      // resolved here, so every construct counts as targeted and escaped.
      all_escaped_ = true;
      return;
    }
    const size_t depth = label.index();
    const size_t first_left = depth < labels.size() ? labels.size() - depth : 0;
    if (depth < labels.size()) targeted_.insert(labels[labels.size() - 1 - depth]);
    escaped_.insert(labels.begin() + static_cast<long>(first_left), labels.end());
  }

  // Applies the calling convention (no charges, no checks) to `list` from
  // `from` on, nested bodies included: for code that never runs.
  void ConventionOnly(ExprList& list, ExprList::iterator from) {
    for (ExprList::iterator it = from; it != list.end();) {
      InsertBefore(list, it);
      ForEachBody(*it, [this](ExprList& body) {
        ConventionOnly(body, body.begin());
      });
      it = IsCall(it->type()) ? InsertAfterCall(list, it) : std::next(it);
    }
  }

  static bool IsCall(ExprType type) {
    return type == ExprType::Call || type == ExprType::CallIndirect;
  }

  // Inserts, before `pos`, what the calling convention needs in front of
  // the instruction there, and returns the position of the first inserted
  // instruction (`pos` if none).
  ExprList::iterator InsertBefore(ExprList& list, ExprList::iterator pos) {
    Expr& expr = *pos;
    switch (expr.type()) {
      case ExprType::Call: {
        if (abi_.IsImport(CalleeOf(wabt::cast<wabt::CallExpr>(&expr)->var))) {
          return InsertStore(list, pos);  // the host sees the global
        }
        return list.insert(pos,
                           std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
      }
      case ExprType::CallIndirect: {
        auto* call = wabt::cast<wabt::CallIndirectExpr>(&expr);
        abi_.Refuel(call->decl);
        return InsertFuelUnderTableIndex(list, pos);
      }
      case ExprType::ReturnCallIndirect: {
        auto* call = wabt::cast<wabt::ReturnCallIndirectExpr>(&expr);
        abi_.Refuel(call->decl);
        return InsertFuelUnderTableIndex(list, pos);
      }
      case ExprType::ReturnCall:
        if (abi_.IsImport(
                CalleeOf(wabt::cast<wabt::ReturnCallExpr>(&expr)->var))) {
          // The import would return without the caller's fuel result.
          Fail("return_call of an imported function");
          return pos;
        }
        return list.insert(pos,
                           std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
      case ExprType::Return:
        return list.insert(pos,
                           std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
      case ExprType::Unreachable:
      case ExprType::Throw:
      case ExprType::Rethrow:
        // Leaves the function without returning: the global must be exact
        // after an `unreachable` trap (C's abort()) and where a handler
        // reloads it.
        return InsertStore(list, pos);
      case ExprType::CallRef:
        Fail("call_ref");
        return pos;
      case ExprType::RefFunc: {
        // A reference may end up in a table, called with fuel.
        auto* ref = wabt::cast<wabt::RefFuncExpr>(&expr);
        const wabt::Index func = CalleeOf(ref->var);
        if (abi_.IsImport(func)) {
          ref->var = wabt::Var(abi_.AdapterFor(func), wabt::Location());
        }
        return pos;
      }
      default:
        return pos;
    }
  }

  // After a call (at `call`): takes the fuel back, from the callee's extra
  // result or, after an imported function, from the global (the host may
  // have changed it). Returns the position after what was inserted.
  ExprList::iterator InsertAfterCall(ExprList& list, ExprList::iterator call) {
    ExprList::iterator next = std::next(call);
    auto* direct = wabt::dyn_cast<wabt::CallExpr>(&*call);
    if (direct != nullptr && abi_.IsImport(CalleeOf(direct->var))) {
      list.insert(next, std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
    }
    list.insert(next, std::make_unique<wabt::LocalSetExpr>(FuelLocal()));
    return next;
  }

  // call_indirect takes the table index on top of the stack, above the
  // arguments: put $fuel under it (through an i32 scratch local).
  ExprList::iterator InsertFuelUnderTableIndex(ExprList& list,
                                               ExprList::iterator pos) {
    if (scratch_local_ == wabt::kInvalidIndex) {
      scratch_local_ = func_->GetNumParamsAndLocals();
      func_->local_types.AppendDecl(wabt::Type::I32, 1);
    }
    const wabt::Var scratch(scratch_local_, wabt::Location());
    ExprList::iterator first =
        list.insert(pos, std::make_unique<wabt::LocalSetExpr>(scratch));
    list.insert(pos, std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    list.insert(pos, std::make_unique<wabt::LocalGetExpr>(scratch));
    return first;
  }

  // Inserts "local.get $fuel  global.set $fuel_global" before `pos` and
  // returns the position of the first inserted instruction.
  ExprList::iterator InsertStore(ExprList& list, ExprList::iterator pos) {
    ExprList::iterator first =
        list.insert(pos, std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    list.insert(pos, std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    return first;
  }

  wabt::Index CalleeOf(const wabt::Var& var) const {
    return var.is_index() ? var.index() : wabt::kInvalidIndex;
  }

  void Fail(std::string_view what) {
    if (status_.ok()) {
      status_ = InvalidArgument(
          "fuel: function " +
          (func_->name.empty() ? std::string("(unnamed)") : func_->name) +
          " uses " + std::string(what) +
          ", which the fuel calling convention cannot meter");
    }
  }

  // Inserts, before `pos`, the charge of `cost`, and the check for a
  // function body or a loop body. The check is one compare and branch; which
  // of fuel and interrupt it was is sorted out only on the slow path, where
  // the interrupt takes precedence (exhausted = 2).
  void EmitCharge(ExprList& list, ExprList::iterator pos, uint64_t cost,
                  ListKind kind, bool publish) {
    const bool check = kind != ListKind::kOther;
    if (cost == 0 && !check) {
      return;
    }
    Insert(list, pos, std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    if (cost != 0) {
      ++stats_.charge_points;
      Insert(list, pos,
             std::make_unique<wabt::ConstExpr>(wabt::Const::I64(cost)));
      Insert(list, pos,
             std::make_unique<wabt::BinaryExpr>(wabt::Opcode::I64Sub));
    }
    if (!check) {
      Insert(list, pos, std::make_unique<wabt::LocalSetExpr>(FuelLocal()));
      return;
    }
    if (cost != 0) {
      Insert(list, pos, std::make_unique<wabt::LocalTeeExpr>(FuelLocal()));
    }
    // Publish the fuel at the header of every loop that calls: after a trap
    // that does not store it itself (out of bounds, stack overflow) the host
    // reads the global, so what it reports as consumed is short by at most
    // what call-free loops and straight-line code charged since the last
    // such header or host call. (Call-free loops, the tight ones, do not
    // pay for the store: it cost ~5 points of metering overhead there.)
    if (kind == ListKind::kLoopBody && publish) {
      Insert(list, pos, std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
      Insert(list, pos, std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    }
    ++stats_.checks;
    // Function entry: $fuel < 0. Loop header: $fuel < interrupt, one compare
    // against the host's word: 0 normally, kInterruptRaised (INT64_MAX) once
    // raised, when every $fuel that was ever charged is below it.
    if (kind == ListKind::kLoopBody) {
      Insert(list, pos, std::make_unique<wabt::GlobalGetExpr>(InterruptVar()));
    } else {
      Insert(list, pos, std::make_unique<wabt::ConstExpr>(wabt::Const::I64(0)));
    }
    Insert(list, pos,
           std::make_unique<wabt::CompareExpr>(wabt::Opcode::I64LtS));
    auto stop = std::make_unique<wabt::IfExpr>();
    ExprList& then = stop->true_.exprs;
    then.push_back(std::make_unique<wabt::LocalGetExpr>(FuelLocal()));
    then.push_back(std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    then.push_back(std::make_unique<wabt::ConstExpr>(
        wabt::Const::I32(static_cast<uint32_t>(kExhaustedByFuel))));
    then.push_back(std::make_unique<wabt::ConstExpr>(
        wabt::Const::I32(static_cast<uint32_t>(kExhaustedByInterrupt))));
    then.push_back(std::make_unique<wabt::GlobalGetExpr>(InterruptVar()));
    then.push_back(std::make_unique<wabt::ConvertExpr>(wabt::Opcode::I64Eqz));
    then.push_back(std::make_unique<wabt::SelectExpr>(wabt::TypeVector()));
    then.push_back(std::make_unique<wabt::GlobalSetExpr>(
        wabt::Var(exhausted_global_, wabt::Location())));
    then.push_back(std::make_unique<wabt::UnreachableExpr>());
    Insert(list, pos, std::move(stop));
  }

  static void Insert(ExprList& list, ExprList::iterator pos,
                     std::unique_ptr<Expr> expr) {
    list.insert(pos, std::move(expr));
  }

  wabt::Var FuelVar() const {
    return wabt::Var(fuel_global_, wabt::Location());
  }
  wabt::Var InterruptVar() const {
    return wabt::Var(interrupt_global_, wabt::Location());
  }
  wabt::Var FuelLocal() const {
    return wabt::Var(fuel_local_, wabt::Location());
  }

  FuelAbi& abi_;
  const wabt::Index fuel_global_;
  const wabt::Index exhausted_global_;
  const wabt::Index interrupt_global_;
  wabt::Func* func_ = nullptr;   // the function being rewritten
  wabt::Index fuel_local_ = 0;   // index of its $fuel parameter
  wabt::Index scratch_local_ = wabt::kInvalidIndex;  // i32, if needed
  std::list<Segment> segments_;  // of the function being rewritten
  Segment* current_ = nullptr;   // none: the code here is dead
  std::unordered_set<const Expr*> targeted_;       // constructs a branch targets
  std::unordered_set<const Expr*> escaped_;        // constructs left other than at their end
  std::unordered_set<const Expr*> calling_loops_;  // loops with a call inside
  bool all_escaped_ = false;  // a label could not be resolved
  Status status_;
  InstrumentStats stats_;
};

// Appends a mutable global with a constant initializer and exports it.
// Names it `$export_name` in the name section unless that name is taken.
wabt::Index AddExportedGlobal(wabt::Module& module,
                              std::string_view export_name, wabt::Type type,
                              wabt::Const init) {
  std::string debug_name = "$" + std::string(export_name);
  if (module.global_bindings.count(debug_name) != 0) {
    debug_name.clear();
  }
  auto global_field =
      std::make_unique<wabt::GlobalModuleField>(wabt::Location(), debug_name);
  global_field->global.type = type;
  global_field->global.mutable_ = true;
  global_field->global.init_expr.push_back(
      std::make_unique<wabt::ConstExpr>(init));
  const wabt::Index index = static_cast<wabt::Index>(module.globals.size());
  module.AppendField(std::move(global_field));

  auto export_field = std::make_unique<wabt::ExportModuleField>();
  export_field->export_.name = std::string(export_name);
  export_field->export_.kind = wabt::ExternalKind::Global;
  export_field->export_.var = wabt::Var(index, wabt::Location());
  module.AppendField(std::move(export_field));
  return index;
}

}  // namespace

StatusOr<std::vector<uint8_t>> InstrumentFuel(std::span<const uint8_t> wasm,
                                              InstrumentStats* stats, Metering metering) {
  // The features wasm2c 1.0.32 accepts without flags.
  const wabt::Features features;

  wabt::Module module;
  wabt::Errors errors;
  wabt::ReadBinaryOptions read_options(features, /*log_stream=*/nullptr,
                                       /*read_debug_names=*/true,
                                       /*stop_on_first_error=*/true,
                                       /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(wabt::ReadBinaryIr("input.wasm", wasm.data(), wasm.size(),
                                      read_options, &errors, &module))) {
    return InvalidArgument(
        "fuel: input is not a WebAssembly binary module WABT can read: " +
        wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
  }
  if (wabt::Failed(wabt::ValidateModule(&module, &errors,
                                        wabt::ValidateOptions(features)))) {
    return InvalidArgument(
        "fuel: input module does not validate: " +
        wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
  }
  for (const wabt::Export* exp : module.exports) {
    if (exp->name == kFuelGlobalExport || exp->name == kExhaustedGlobalExport ||
        exp->name == kInterruptGlobalExport) {
      return InvalidArgument("fuel: input module already exports \"" +
                             exp->name +
                             "\"; is it already fuel-instrumented?");
    }
  }

  const wabt::Index fuel_global = AddExportedGlobal(
      module, kFuelGlobalExport, wabt::Type::I64,
      wabt::Const::I64(static_cast<uint64_t>(kUnmeteredFuel)));
  const wabt::Index exhausted_global = AddExportedGlobal(
      module, kExhaustedGlobalExport, wabt::Type::I32, wabt::Const::I32(0));
  const wabt::Index interrupt_global = AddExportedGlobal(
      module, kInterruptGlobalExport, wabt::Type::I64, wabt::Const::I64(0));

  FuelAbi abi(module, fuel_global);
  Instrumenter instrumenter(abi, fuel_global, exhausted_global,
                            interrupt_global);
  if (metering == Metering::kOn) {
    // Glue functions are appended after these, so no function index of the
    // input changes.
    const wabt::Index num_funcs = static_cast<wabt::Index>(module.funcs.size());
    std::vector<wabt::FuncSignature> original_sigs;
    original_sigs.reserve(num_funcs);
    for (const wabt::Func* func : module.funcs) {
      original_sigs.push_back(func->decl.sig);
    }
    for (wabt::Index i = module.num_func_imports; i < num_funcs; ++i) {
      if (Status s = instrumenter.InstrumentFunction(*module.funcs[i]);
          !s.ok()) {
        return s;
      }
    }
    // The host calls exported functions and the start function with their
    // original types: through wrappers. (A re-exported import is the host's
    // own function and stays as it is.)
    for (wabt::Export* exp : module.exports) {
      if (exp->kind != wabt::ExternalKind::Func) {
        continue;
      }
      const wabt::Index func = module.GetFuncIndex(exp->var);
      if (!abi.IsImport(func)) {
        exp->var = wabt::Var(abi.WrapperFor(func, original_sigs[func]),
                             wabt::Location());
      }
    }
    for (wabt::Var* start : module.starts) {
      const wabt::Index func = module.GetFuncIndex(*start);
      if (!abi.IsImport(func)) {
        *start = wabt::Var(abi.WrapperFor(func, original_sigs[func]),
                           wabt::Location());
      }
    }
    // Tables are called through call_indirect, which always passes fuel:
    // an imported function in a table (or in a funcref global) is replaced
    // by its adapter. Defined functions stay, with their fuelled types.
    auto adapt = [&abi, &module](wabt::ExprList& exprs) {
      for (wabt::Expr& expr : exprs) {
        if (auto* ref = wabt::dyn_cast<wabt::RefFuncExpr>(&expr)) {
          const wabt::Index func = module.GetFuncIndex(ref->var);
          if (abi.IsImport(func)) {
            ref->var = wabt::Var(abi.AdapterFor(func), wabt::Location());
          }
        }
      }
    };
    for (wabt::ElemSegment* segment : module.elem_segments) {
      for (wabt::ExprList& entry : segment->elem_exprs) {
        adapt(entry);
      }
    }
    for (wabt::Global* global : module.globals) {
      adapt(global->init_expr);
    }
  }

  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(features, /*canonicalize_lebs=*/true,
                                         /*relocatable=*/false,
                                         /*write_debug_names=*/true);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module, write_options))) {
    return Internal("fuel: WABT failed to write the instrumented module");
  }
  if (stats != nullptr) {
    *stats = instrumenter.stats();
  }
  return std::move(stream.output_buffer().data);
}

}  // namespace snakecage::fuel
