# An infinite loop runs out of fuel.
# policy: {"fuel_budget": 20000000}
# expect: {"exit_code": 134, "success": false, "trap_reason": "out_of_fuel", "fuel_consumed": 20000000, "stderr": "Execution trapped: OutOfFuel\n"}
while True:
    pass
