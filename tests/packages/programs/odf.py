# odfpy writes an OpenDocument text and spreadsheet and reads them back.
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText, load
from odf.table import Table, TableCell, TableRow
from odf.text import P
from odf import teletype

doc = OpenDocumentText()
doc.text.addElement(P(text="Quarterly notes"))
doc.text.addElement(P(text="Units rose 12%."))
doc.save("/app/notes.odt")
print([teletype.extractText(p) for p in load("/app/notes.odt").getElementsByType(P)])

sheet = OpenDocumentSpreadsheet()
table = Table(name="data")
for values in (["a", "b"], ["1", "2"]):
    row = TableRow()
    for v in values:
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=v))
        row.addElement(cell)
    table.addElement(row)
sheet.spreadsheet.addElement(table)
sheet.save("/app/data.ods")
loaded = load("/app/data.ods").spreadsheet.getElementsByType(Table)[0]
print([[teletype.extractText(c) for c in r.getElementsByType(TableCell)]
       for r in loaded.getElementsByType(TableRow)])
