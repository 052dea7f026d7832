#include "reference_counter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/error-formatter.h"
#include "wabt/ir.h"
#include "wabt/stream.h"

namespace snakecage::fuel::testing {
namespace {

// Wasmtime's default_operator_cost, restated: these cost 0, all else 1.
bool IsFree(const wabt::Expr& expr) {
  switch (expr.type()) {
    case wabt::ExprType::Nop:
    case wabt::ExprType::Drop:
    case wabt::ExprType::Block:
    case wabt::ExprType::Loop:
    case wabt::ExprType::Unreachable:
    case wabt::ExprType::Return:
    case wabt::ExprType::CodeMetadata:
      return true;
    default:
      return false;
  }
}

void CountEachOperator(wabt::ExprList& list, wabt::Index fuel) {
  for (auto it = list.begin(); it != list.end(); ++it) {
    wabt::Expr& expr = *it;
    if (auto* block = wabt::dyn_cast<wabt::BlockExpr>(&expr)) {
      CountEachOperator(block->block.exprs, fuel);
    } else if (auto* loop = wabt::dyn_cast<wabt::LoopExpr>(&expr)) {
      CountEachOperator(loop->block.exprs, fuel);
    } else if (auto* if_expr = wabt::dyn_cast<wabt::IfExpr>(&expr)) {
      CountEachOperator(if_expr->true_.exprs, fuel);
      CountEachOperator(if_expr->false_, fuel);
    }
    if (IsFree(expr)) continue;
    const wabt::Var var(fuel, wabt::Location());
    list.insert(it, std::make_unique<wabt::GlobalGetExpr>(var));
    list.insert(it, std::make_unique<wabt::ConstExpr>(wabt::Const::I64(1)));
    list.insert(it, std::make_unique<wabt::BinaryExpr>(wabt::Opcode::I64Sub));
    list.insert(it, std::make_unique<wabt::GlobalSetExpr>(var));
  }
}

wabt::Index AddGlobal(wabt::Module& module, const char* name, wabt::Type type,
                      wabt::Const init) {
  auto field = std::make_unique<wabt::GlobalModuleField>();
  field->global.type = type;
  field->global.mutable_ = true;
  field->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(init));
  const auto index = static_cast<wabt::Index>(module.globals.size());
  module.AppendField(std::move(field));
  auto exp = std::make_unique<wabt::ExportModuleField>();
  exp->export_.name = name;
  exp->export_.kind = wabt::ExternalKind::Global;
  exp->export_.var = wabt::Var(index, wabt::Location());
  module.AppendField(std::move(exp));
  return index;
}

}  // namespace

std::vector<uint8_t> AddReferenceCounter(const std::vector<uint8_t>& wasm) {
  wabt::Module module;
  wabt::Errors errors;
  wabt::ReadBinaryOptions options;
  if (wabt::Failed(wabt::ReadBinaryIr("ref.wasm", wasm.data(), wasm.size(),
                                      options, &errors, &module))) {
    ADD_FAILURE() << wabt::FormatErrorsToString(errors,
                                                wabt::Location::Type::Binary);
    return {};
  }
  const wabt::Index fuel =
      AddGlobal(module, "snakecage_fuel", wabt::Type::I64, wabt::Const::I64(0));
  AddGlobal(module, "snakecage_fuel_exhausted", wabt::Type::I32,
            wabt::Const::I32(0));
  AddGlobal(module, "snakecage_interrupt", wabt::Type::I64,
            wabt::Const::I64(0));
  for (wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    CountEachOperator(module.funcs[i]->exprs, fuel);
  }
  wabt::MemoryStream stream;
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module,
                                           wabt::WriteBinaryOptions()))) {
    ADD_FAILURE() << "cannot write the reference-counting module";
    return {};
  }
  return std::move(stream.output_buffer().data);
}

}  // namespace snakecage::fuel::testing
