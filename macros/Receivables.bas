Attribute VB_Name = "Receivables"
' Receivables add-in for Excel: the ribbon's callback.
'
' Every button of the "Receivables" tab (customUI/customUI14.xml, generated from
' addin/excel/ribbon.py) has onAction="Receivables_OnAction". The callback hands the
' button's id to Python: addin/excel/handlers.py dispatch() looks it up in the one table
' of addin/excel/ribbon.py and runs the same command as the `receivables` command line.
'
' RunPython comes from the xlwings VBA module imported beside this one when the add-in is
' built (`receivables excel build-addin`): xlwings' own custom add-in module
' (xlwings_custom_addin.bas, BSD licence) with PROJECT_NAME = "receivables", so Excel needs
' neither the xlwings add-in nor a reference to it. The Python interpreter is read from
' %USERPROFILE%\.receivables\receivables.conf (written by `receivables excel install`).
'
' Keep this file ASCII: the VBA editor imports modules in the system code page.
Option Explicit

Public Sub Receivables_OnAction(control As IRibbonControl)
    Receivables_Press control.ID
End Sub

' Runs the handler of one button, e.g. from the Immediate window:
'     Application.Run "Receivables.xlam!Receivables_Press", "check_workbook"
Public Sub Receivables_Press(ByVal buttonId As String)
    If Not IsPlainId(buttonId) Then
        MsgBox "Unknown button """ & buttonId & """.", vbExclamation, "Receivables"
        Exit Sub
    End If
    If ActiveWorkbook Is Nothing Then
        MsgBox "Open your receivables workbook first, then press the button again.", _
               vbInformation, "Receivables"
        Exit Sub
    End If
    If ActiveWorkbook.Path = "" Then
        MsgBox "Save this workbook first: the add-in works on a saved workbook " & _
               "(its journal, outbox and statements live beside it).", vbInformation, "Receivables"
        Exit Sub
    End If
    RunPython "import addin.excel.handlers as h; h.dispatch('" & buttonId & "')"
End Sub

' Only letters, digits and underscores travel into the Python command (no quoting to get wrong).
Private Function IsPlainId(ByVal text As String) As Boolean
    Dim i As Long
    If Len(text) = 0 Or Len(text) > 64 Then Exit Function
    For i = 1 To Len(text)
        If Not Mid$(text, i, 1) Like "[A-Za-z0-9_]" Then Exit Function
    Next i
    IsPlainId = True
End Function
