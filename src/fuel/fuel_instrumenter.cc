// fuel/fuel_instrumenter.cc: see fuel_instrumenter.h for the model.
//
// The rewrite works on WABT's IR: ReadBinaryIr, edit each function's
// expression tree in place, WriteBinaryModule. In the IR a block, loop or if
// is one expression that owns its body lists; the `else` and `end`
// instructions are implicit at the end of those lists. So "the instruction
// after a boundary" is the next expression in the same list (after a
// block/loop/if: after its `end`), or the first expression of a body list.

#include "fuel/fuel_instrumenter.h"

#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

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

// How an instruction affects segmentation.
enum class Flow {
  kStraight,      // stays in the segment (calls included)
  kBoundary,      // ends the segment; the next instruction may execute
  kUnconditional  // ends the segment; the rest of the list never executes
};

Flow FlowOf(ExprType type) {
  switch (type) {
    case ExprType::Block:
    case ExprType::Loop:
    case ExprType::If:
    case ExprType::Try:
    case ExprType::BrIf:
      return Flow::kBoundary;
    case ExprType::Br:
    case ExprType::BrTable:
    case ExprType::Return:
    case ExprType::Unreachable:
    case ExprType::ReturnCall:
    case ExprType::ReturnCallIndirect:
    case ExprType::Throw:
    case ExprType::Rethrow:
      return Flow::kUnconditional;
    case ExprType::AtomicLoad:
    case ExprType::AtomicRmw:
    case ExprType::AtomicRmwCmpxchg:
    case ExprType::AtomicStore:
    case ExprType::AtomicNotify:
    case ExprType::AtomicFence:
    case ExprType::AtomicWait:
    case ExprType::Binary:
    case ExprType::Call:
    case ExprType::CallIndirect:
    case ExprType::CallRef:
    case ExprType::CodeMetadata:
    case ExprType::Compare:
    case ExprType::Const:
    case ExprType::Convert:
    case ExprType::Drop:
    case ExprType::GlobalGet:
    case ExprType::GlobalSet:
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
    case ExprType::Nop:
    case ExprType::RefIsNull:
    case ExprType::RefFunc:
    case ExprType::RefNull:
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
    case ExprType::Unary:
      return Flow::kStraight;
  }
  return Flow::kStraight;  // unreachable: the switch is exhaustive
}

// Rewrites the bodies of one module. Within a function, the remaining fuel
// lives in a local ($cache, appended after the function's own locals): it is
// loaded from the global at entry, charged and checked in the local, stored
// back to the global before every call and every exit from the function, and
// reloaded after every call. Every check also tests the interrupt global.
// See "Injected code" in the header.
class Instrumenter {
 public:
  Instrumenter(wabt::Index fuel_global, wabt::Index exhausted_global,
               wabt::Index interrupt_global)
      : fuel_global_(fuel_global),
        exhausted_global_(exhausted_global),
        interrupt_global_(interrupt_global) {}

  void InstrumentFunction(wabt::Func& func) {
    cache_local_ = func.GetNumParamsAndLocals();
    depth_ = 0;
    InstrumentList(func.exprs, ListKind::kFunctionBody);
    // Falling off the end of the body returns.
    InsertFlush(func.exprs, func.exprs.end());
    func.local_types.AppendDecl(wabt::Type::I64, 1);
    ++stats_.functions_instrumented;
  }

  const InstrumentStats& stats() const { return stats_; }

 private:
  enum class ListKind { kFunctionBody, kLoopBody, kOther };

  // Instruments one body list. The list's first instruction starts a
  // segment; its implicit terminator (`end` or `else`) costs 0.
  void InstrumentList(ExprList& list, ListKind kind) {
    ExprList::iterator segment_start = list.begin();
    uint64_t cost = 0;
    bool first = true;
    for (ExprList::iterator it = list.begin(); it != list.end();) {
      Expr& expr = *it;
      cost += OperatorCost(expr.type());
      if (IsCall(expr.type()) || LeavesFunction(expr)) {
        // The global must be exact whenever another function (or the host)
        // can see it. If `expr` starts the segment, the segment's charge
        // must still come first: it goes before the flush.
        ExprList::iterator flush = InsertFlush(list, it);
        if (segment_start == it) {
          segment_start = flush;
        }
      }
      if (IsCall(expr.type())) {
        // The callee (or the host) may have changed the global. A call does
        // not end the segment; step over the reload, which costs nothing.
        ExprList::iterator next = std::next(it);
        list.insert(next, std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
        list.insert(next, std::make_unique<wabt::LocalSetExpr>(CacheVar()));
        it = next;
        continue;
      }
      const Flow flow = FlowOf(expr.type());
      if (flow == Flow::kStraight) {
        ++it;
        continue;
      }
      // `expr` ends the segment [segment_start, expr].
      EmitCharge(list, segment_start, cost, first ? kind : ListKind::kOther);
      first = false;
      cost = 0;
      ++depth_;
      InstrumentBodies(expr);
      --depth_;
      ++it;
      if (flow == Flow::kUnconditional) {
        // The rest of this list is dead code: it never runs, so it is
        // neither charged nor checked. The list's terminator is reached
        // only by branches, which land after it, in the enclosing list.
        return;
      }
      segment_start = it;
    }
    // The last segment, ended by the implicit `end`/`else` (cost 0).
    EmitCharge(list, segment_start, cost, first ? kind : ListKind::kOther);
  }

  // Instruments the body lists a structured instruction owns, if any.
  // REQUIRES: depth_ already counts the structured instruction's label.
  void InstrumentBodies(Expr& expr) {
    if (auto* block = wabt::dyn_cast<wabt::BlockExpr>(&expr)) {
      InstrumentList(block->block.exprs, ListKind::kOther);
    } else if (auto* loop = wabt::dyn_cast<wabt::LoopExpr>(&expr)) {
      InstrumentList(loop->block.exprs, ListKind::kLoopBody);
    } else if (auto* if_expr = wabt::dyn_cast<wabt::IfExpr>(&expr)) {
      InstrumentList(if_expr->true_.exprs, ListKind::kOther);
      InstrumentList(if_expr->false_, ListKind::kOther);
    } else if (auto* try_expr = wabt::dyn_cast<wabt::TryExpr>(&expr)) {
      // Only reachable if the exceptions feature is ever enabled. A handler
      // is entered from a throw (which flushed), possibly in a callee: it
      // reloads the cache, then runs like an if arm.
      InstrumentList(try_expr->block.exprs, ListKind::kOther);
      for (wabt::Catch& handler : try_expr->catches) {
        InstrumentList(handler.exprs, ListKind::kOther);
        handler.exprs.push_front(
            std::make_unique<wabt::LocalSetExpr>(CacheVar()));
        handler.exprs.push_front(
            std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
      }
    }
  }

  static bool IsCall(ExprType type) {
    return type == ExprType::Call || type == ExprType::CallIndirect ||
           type == ExprType::CallRef;
  }

  // Whether `expr` may transfer control out of the function (return, trap,
  // tail call, throw, or a branch to the function body's label).
  bool LeavesFunction(Expr& expr) const {
    if (auto* br = wabt::dyn_cast<wabt::BrExpr>(&expr)) {
      return TargetsFunctionLabel(br->var);
    }
    if (auto* br_if = wabt::dyn_cast<wabt::BrIfExpr>(&expr)) {
      return TargetsFunctionLabel(br_if->var);
    }
    if (auto* br_table = wabt::dyn_cast<wabt::BrTableExpr>(&expr)) {
      if (TargetsFunctionLabel(br_table->default_target)) {
        return true;
      }
      for (const wabt::Var& target : br_table->targets) {
        if (TargetsFunctionLabel(target)) {
          return true;
        }
      }
      return false;
    }
    const ExprType type = expr.type();
    return type == ExprType::Return || type == ExprType::ReturnCall ||
           type == ExprType::ReturnCallIndirect ||
           type == ExprType::Unreachable || type == ExprType::Throw ||
           type == ExprType::Rethrow;
  }

  // Branch depths from the binary reader are relative: depth_ (the number
  // of enclosing structured instructions) names the function body's label.
  bool TargetsFunctionLabel(const wabt::Var& var) const {
    return !var.is_index() || var.index() >= depth_;
  }

  // Inserts "local.get $cache  global.set $fuel" before `pos` and returns
  // the position of the first inserted instruction.
  ExprList::iterator InsertFlush(ExprList& list, ExprList::iterator pos) {
    ExprList::iterator first =
        list.insert(pos, std::make_unique<wabt::LocalGetExpr>(CacheVar()));
    list.insert(pos, std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    return first;
  }

  // Inserts, before `pos`, the charge of `cost`, and the entry load and the
  // check for a function body or a loop body. The check is one branch on
  // (cache < 0) | interrupt; which of the two it was is sorted out only on
  // the slow path, where the interrupt takes precedence (exhausted = 2).
  void EmitCharge(ExprList& list, ExprList::iterator pos, uint64_t cost,
                  ListKind kind) {
    const bool entry = kind == ListKind::kFunctionBody;
    const bool check = kind != ListKind::kOther;
    if (cost == 0 && !check) {
      return;
    }
    if (entry) {
      Insert(list, pos, std::make_unique<wabt::GlobalGetExpr>(FuelVar()));
    } else {
      Insert(list, pos, std::make_unique<wabt::LocalGetExpr>(CacheVar()));
    }
    if (cost != 0) {
      ++stats_.charge_points;
      Insert(list, pos,
             std::make_unique<wabt::ConstExpr>(wabt::Const::I64(cost)));
      Insert(list, pos,
             std::make_unique<wabt::BinaryExpr>(wabt::Opcode::I64Sub));
    }
    if (!check) {
      Insert(list, pos, std::make_unique<wabt::LocalSetExpr>(CacheVar()));
      return;
    }
    if (entry || cost != 0) {
      Insert(list, pos, std::make_unique<wabt::LocalTeeExpr>(CacheVar()));
    }
    ++stats_.checks;
    Insert(list, pos, std::make_unique<wabt::ConstExpr>(wabt::Const::I64(0)));
    Insert(list, pos,
           std::make_unique<wabt::CompareExpr>(wabt::Opcode::I64LtS));
    Insert(list, pos, std::make_unique<wabt::GlobalGetExpr>(InterruptVar()));
    Insert(list, pos, std::make_unique<wabt::BinaryExpr>(wabt::Opcode::I32Or));
    auto stop = std::make_unique<wabt::IfExpr>();
    ExprList& then = stop->true_.exprs;
    then.push_back(std::make_unique<wabt::LocalGetExpr>(CacheVar()));
    then.push_back(std::make_unique<wabt::GlobalSetExpr>(FuelVar()));
    then.push_back(std::make_unique<wabt::ConstExpr>(
        wabt::Const::I32(static_cast<uint32_t>(kExhaustedByInterrupt))));
    then.push_back(std::make_unique<wabt::ConstExpr>(
        wabt::Const::I32(static_cast<uint32_t>(kExhaustedByFuel))));
    then.push_back(std::make_unique<wabt::GlobalGetExpr>(InterruptVar()));
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
  wabt::Var CacheVar() const {
    return wabt::Var(cache_local_, wabt::Location());
  }

  const wabt::Index fuel_global_;
  const wabt::Index exhausted_global_;
  const wabt::Index interrupt_global_;
  wabt::Index cache_local_ = 0;  // index of $cache in the current function
  wabt::Index depth_ = 0;        // structured instructions around the list
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
      module, kInterruptGlobalExport, wabt::Type::I32, wabt::Const::I32(0));

  Instrumenter instrumenter(fuel_global, exhausted_global, interrupt_global);
  if (metering == Metering::kOn) {
    for (wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
      instrumenter.InstrumentFunction(*module.funcs[i]);
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
