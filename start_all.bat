@echo off
REM Everything Mithivoices serves, on Windows: the API on :8000 (start_backend.bat, in its own window)
REM and the browser app with hot reload on http://localhost:5173 (Node.js 20.19+ with npm).
setlocal
cd /d "%~dp0"
where npm >nul 2>nul || (echo Node.js 20.19+ with npm is needed for the web app: https://nodejs.org & exit /b 1)
if not exist frontend\node_modules (
  call npm --prefix frontend ci --no-audit --no-fund || exit /b 1
)
call npm --prefix frontend run build || exit /b 1
start "Mithivoices API" cmd /c start_backend.bat %*
echo Web app: http://localhost:5173   API: http://127.0.0.1:8000/docs
call npm --prefix frontend run dev -- --host 127.0.0.1 --port 5173 --strictPort
