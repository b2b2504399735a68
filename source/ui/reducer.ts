/**
The dashboard's reducer as the App uses it: `source/dashboard` bounds the scrolling of the help and
the task detail by their line counts, which only the views can make (they build the lines).
*/
import {createReducer} from '../dashboard/state.js';
import {detailLines} from '../views/detail-lines.js';
import {helpLines} from '../views/help-lines.js';

const plain = {color: false, ascii: false};

export const reduce = createReducer({
	helpLines: (context) => helpLines(context, plain).length,
	detailLines: (detail, history, width) => detailLines(detail, history, width, plain).length,
});
