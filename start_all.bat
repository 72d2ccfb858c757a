@echo off
REM Everything Mithivoices serves, on Windows. Today that is the API (see start_backend.bat);
REM the browser app joins here when the frontend ships.
setlocal
cd /d "%~dp0"
call start_backend.bat %*
