import { sweep } from './sweep.js';

// Half of the fault table per file: ava runs the two files in parallel processes.
sweep(['kill-leader', 'kill-follower-until-snapshot', 'kill-quorum', 'kill-all', 'lose-unsynced-tail', 'replace-wiped-member']);
