# openpyxl writes and reads a workbook; xlsxwriter writes one openpyxl reads.
import datetime
import openpyxl
import xlsxwriter

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "sales"
ws.append(["region", "units", "day"])
ws.append(["north", 12, datetime.date(2026, 1, 2)])
ws.append(["south", 30, datetime.date(2026, 1, 3)])
ws["B4"] = "=SUM(B2:B3)"
wb.save("/app/sales.xlsx")

back = openpyxl.load_workbook("/app/sales.xlsx")
for row in back["sales"].iter_rows(values_only=True):
    print(row)

book = xlsxwriter.Workbook("/app/report.xlsx")
sheet = book.add_worksheet("report")
bold = book.add_format({"bold": True})
sheet.write_row(0, 0, ["name", "score"], bold)
sheet.write_row(1, 0, ["ada", 97.5])
sheet.write_row(2, 0, ["alan", 88])
book.close()
report = openpyxl.load_workbook("/app/report.xlsx")["report"]
print([[c.value for c in row] for row in report.iter_rows()])
print("bold header:", report["A1"].font.b)
