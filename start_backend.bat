@echo off
REM Mithivoices backend on Windows: venv, packages, bundled models, then the API on http://127.0.0.1:8000
REM Needs Python 3.11 on PATH. For eSpeak NG voices (hi, ml, mr, ta, te, bn, gu) install espeak-ng:
REM   https://github.com/espeak-ng/espeak-ng/releases  (the .msi adds libespeak-ng.dll)
REM The embedded Redis is Linux-only: set REDIS_URL to a Redis 8 / Redis Stack server first.
REM llama-cpp-python is compiled on first install: it needs the MSVC C++ build tools.
setlocal
cd /d "%~dp0"
if not exist .venv\Scripts\python.exe (
  python -m venv .venv || goto :error
  .venv\Scripts\python.exe -m pip install --upgrade pip || goto :error
)
.venv\Scripts\python.exe -m pip install --quiet -r requirements.txt || goto :error
.venv\Scripts\python.exe download_models.py || goto :error
.venv\Scripts\python.exe -m backend %*
goto :eof
:error
echo Setup failed with error %errorlevel%.
exit /b %errorlevel%
