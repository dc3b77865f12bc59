// Entry point: the board page (or a comparison of boards) boots the app;
// the home page fills in this server's URL in the upload commands.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { BoardApp } from './board';
import { compareIds } from './compare';

function boardID(): string {
  const m = /^\/experiment\/([^/]+)/.exec(location.pathname);
  if (m) return decodeURIComponent(m[1]);
  return document.body.dataset.boardId ?? '';
}

const page = document.body.dataset.page;
// a comparison (/compare/<ids>/) is the board page over several boards
const ids = compareIds(location.pathname);
if (page === 'board' && ids) {
  new BoardApp(ids.join(','), ids).start();
} else if (page === 'board') {
  const app = new BoardApp(boardID());
  app.start();
} else if (page === 'home') {
  for (const s of document.querySelectorAll('.server-url')) s.textContent = location.origin;
}
