// Entry point: the token from the URL fragment, then the app.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { adoptTokenFromFragment } from "./api/client";
import { App } from "./shell/App";
import { StudioProvider } from "./shell/studio";
import "./styles.css";

adoptTokenFromFragment();
createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <StudioProvider>
      <App />
    </StudioProvider>
  </StrictMode>,
);
