#include "fuel_test_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "fuel/fuel_instrumenter.h"
#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/error-formatter.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"

namespace snakecage::fuel::testing {

using wabt::interp::Value;

namespace {

// A trace stream that discards the text and calls `hook` once per traced
// instruction (the interpreter writes one line per instruction, before
// executing it).
class InstructionHookStream : public wabt::Stream {
 public:
  explicit InstructionHookStream(const std::function<void()>* hook)
      : hook_(hook) {}

 protected:
  wabt::Result WriteDataImpl(size_t, const void* data, size_t size) override {
    const char* text = static_cast<const char*>(data);
    for (size_t i = 0; i < size; ++i) {
      if (text[i] == '\n') {
        (*hook_)();
      }
    }
    return wabt::Result::Ok;
  }
  wabt::Result MoveDataImpl(size_t, size_t, size_t) override {
    return wabt::Result::Ok;
  }
  wabt::Result TruncateImpl(size_t) override { return wabt::Result::Ok; }

 private:
  const std::function<void()>* hook_;
};

}  // namespace

std::vector<uint8_t> WatToWasm(std::string_view wat) {
  wabt::Errors errors;
  std::unique_ptr<wabt::WastLexer> lexer = wabt::WastLexer::CreateBufferLexer(
      "test.wat", wat.data(), wat.size(), &errors);
  wabt::Features features;
  wabt::WastParseOptions parse_options(features);
  std::unique_ptr<wabt::Module> module;
  if (wabt::Failed(wabt::ParseWatModule(lexer.get(), &module, &errors,
                                        &parse_options)) ||
      wabt::Failed(wabt::ValidateModule(module.get(), &errors,
                                        wabt::ValidateOptions(features)))) {
    ADD_FAILURE() << "bad test WAT: "
                  << wabt::FormatErrorsToString(errors,
                                                wabt::Location::Type::Text);
    return {};
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(features, /*canonicalize_lebs=*/true,
                                         /*relocatable=*/false,
                                         /*write_debug_names=*/true);
  if (wabt::Failed(
          wabt::WriteBinaryModule(&stream, module.get(), write_options))) {
    ADD_FAILURE() << "cannot write test module";
    return {};
  }
  return std::move(stream.output_buffer().data);
}

std::string ValidationErrors(const std::vector<uint8_t>& wasm) {
  wabt::Errors errors;
  wabt::Module module;
  wabt::Features features;
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/true,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/true);
  if (wabt::Failed(wabt::ReadBinaryIr("out.wasm", wasm.data(), wasm.size(),
                                      options, &errors, &module)) ||
      wabt::Failed(wabt::ValidateModule(&module, &errors,
                                        wabt::ValidateOptions(features)))) {
    std::string text =
        wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
    return text.empty() ? std::string("invalid (no message)") : text;
  }
  return "";
}

FuelRunner::FuelRunner(const std::vector<uint8_t>& wasm) {
  wabt::Errors errors;
  wabt::interp::ModuleDesc desc;
  wabt::ReadBinaryOptions options;
  if (wabt::Failed(wabt::interp::ReadBinaryInterp("instrumented.wasm",
                                                  wasm.data(), wasm.size(),
                                                  options, &errors, &desc))) {
    ADD_FAILURE() << "interpreter cannot read module: "
                  << wabt::FormatErrorsToString(errors,
                                                wabt::Location::Type::Binary);
    return;
  }
  module_ = wabt::interp::Module::New(store_, std::move(desc));

  wabt::interp::RefVec imports;
  for (const wabt::interp::ImportType& import : module_->import_types()) {
    if (import.module != "env" || import.name != "host") {
      ADD_FAILURE() << "unexpected import " << import.module << "."
                    << import.name;
      return;
    }
    wabt::interp::FuncType type({wabt::Type::I32}, {wabt::Type::I32});
    auto host = wabt::interp::HostFunc::New(
        store_, type,
        [this](wabt::interp::Thread&, const wabt::interp::Values& params,
               wabt::interp::Values& results, wabt::interp::Trap::Ptr*) {
          if (host_hook_) {
            host_hook_();
          }
          results[0] = Value::Make(params[0].Get<uint32_t>() + 1);
          return wabt::Result::Ok;
        });
    imports.push_back(host.ref());
  }

  wabt::interp::Trap::Ptr trap;
  instance_ = wabt::interp::Instance::Instantiate(store_, module_.ref(),
                                                  imports, &trap);
  if (!instance_) {
    ADD_FAILURE() << "instantiation failed: "
                  << (trap ? trap->message() : std::string("?"));
    return;
  }
  fuel_ = store_.UnsafeGet<wabt::interp::Global>(Export(kFuelGlobalExport));
  exhausted_ =
      store_.UnsafeGet<wabt::interp::Global>(Export(kExhaustedGlobalExport));
  interrupt_ =
      store_.UnsafeGet<wabt::interp::Global>(Export(kInterruptGlobalExport));
  ok_ = !fuel_.empty() && !exhausted_.empty() && !interrupt_.empty();
}

wabt::interp::Ref FuelRunner::Export(std::string_view name) const {
  const auto& export_types = module_->export_types();
  for (size_t i = 0; i < export_types.size(); ++i) {
    if (export_types[i].name == name) {
      return instance_->exports()[i];
    }
  }
  ADD_FAILURE() << "no export named " << name;
  return wabt::interp::Ref::Null;
}

int64_t FuelRunner::fuel() const {
  int64_t value = 0;
  EXPECT_TRUE(wabt::Succeeded(fuel_->Get(&value)));
  return value;
}

void FuelRunner::set_fuel(int64_t value) {
  EXPECT_TRUE(wabt::Succeeded(fuel_->Set(value)));
}

int32_t FuelRunner::exhausted() const {
  int32_t value = 0;
  EXPECT_TRUE(wabt::Succeeded(exhausted_->Get(&value)));
  return value;
}

uint64_t FuelRunner::interrupt() const {
  uint64_t value = 0;
  EXPECT_TRUE(wabt::Succeeded(interrupt_->Get(&value)));
  return value;
}

void FuelRunner::set_interrupt(uint64_t value) {
  EXPECT_TRUE(wabt::Succeeded(interrupt_->Set(value)));
}

uint32_t FuelRunner::GlobalU32(std::string_view name) {
  wabt::interp::Ref ref = Export(name);
  if (ref == wabt::interp::Ref::Null) {
    return 0;
  }
  uint32_t value = 0;
  EXPECT_TRUE(
      wabt::Succeeded(store_.UnsafeGet<wabt::interp::Global>(ref)->Get(&value)))
      << name << " is not an i32 global";
  return value;
}

RunResult FuelRunner::Call(std::string_view name,
                           const std::vector<uint32_t>& args, int64_t budget) {
  RunResult result;
  EXPECT_TRUE(wabt::Succeeded(fuel_->Set(budget)));
  EXPECT_TRUE(wabt::Succeeded(exhausted_->Set(int32_t{0})));
  EXPECT_TRUE(wabt::Succeeded(interrupt_->Set(uint64_t{0})));

  wabt::interp::Ref ref = Export(name);
  if (ref == wabt::interp::Ref::Null) {
    return result;
  }
  auto func = store_.UnsafeGet<wabt::interp::Func>(ref);
  wabt::interp::Values params;
  for (uint32_t arg : args) {
    params.push_back(Value::Make(arg));
  }
  wabt::interp::Values results;
  wabt::interp::Trap::Ptr trap;
  InstructionHookStream trace(&instruction_hook_);
  if (wabt::Failed(func->Call(store_, params, results, &trap,
                              instruction_hook_ ? &trace : nullptr))) {
    result.trapped = true;
    result.trap_message = trap ? trap->message() : std::string("?");
  }
  result.results = std::move(results);
  result.remaining = fuel();
  result.consumed = budget - result.remaining;
  result.exhausted = exhausted();
  result.interrupt = interrupt();
  return result;
}

}  // namespace snakecage::fuel::testing
